package main

import (
	"os"
	"path/filepath"
	"runtime"
)

// machineInfo describes where the benchmark ran.
type machineInfo struct {
	CPU         string       `json:"cpu"`
	Cores       int          `json:"cores"`
	MemoryBytes int64        `json:"memory_bytes"`
	Kernel      string       `json:"kernel"`
	OS          string       `json:"os"`
	Arch        string       `json:"arch"`
	GoVersion   string       `json:"go_version"`
	Python      string       `json:"python"` // interpreter path, "" when none was used
	PythonVer   string       `json:"python_version"`
	NumPyVer    string       `json:"numpy_version"`
	Folders     []folderInfo `json:"folders"`
}

// folderInfo is one folder the benchmark wrote to.
type folderInfo struct {
	Role string `json:"role"` // "shm" or "disk"
	Path string `json:"path"`
	FS   string `json:"fs"` // filesystem type, e.g. tmpfs, ext4
}

// describeMachine gathers the machine's description.
func describeMachine(cfg *config, py *pythonInfo) machineInfo {
	m := machineInfo{
		CPU:         cpuModel(),
		Cores:       runtime.NumCPU(),
		MemoryBytes: memTotal(),
		Kernel:      kernelVersion(),
		OS:          runtime.GOOS,
		Arch:        runtime.GOARCH,
		GoVersion:   runtime.Version(),
	}
	if py != nil {
		m.Python, m.PythonVer, m.NumPyVer = py.Path, py.Python, py.NumPy
	}
	for _, f := range []struct{ role, dir string }{{"shm", cfg.shmDir}, {"disk", cfg.diskDir}} {
		p := f.dir
		if a, err := filepath.Abs(p); err == nil {
			p = a
		}
		m.Folders = append(m.Folders, folderInfo{Role: f.role, Path: p, FS: fsType(p)})
	}
	return m
}

// defaultShmDir is $ARRFILE_DIR, else /dev/shm when it is a writable
// folder, else the OS temporary folder.
func defaultShmDir() string {
	if d := os.Getenv("ARRFILE_DIR"); d != "" {
		return d
	}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", "arrbench-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return os.TempDir()
}

// defaultDiskDir is the OS temporary folder unless it is in memory (tmpfs,
// as /tmp often is), then /var/tmp.
func defaultDiskDir() string {
	d := os.TempDir()
	if fsType(d) == "tmpfs" {
		if st, err := os.Stat("/var/tmp"); err == nil && st.IsDir() {
			return "/var/tmp"
		}
	}
	return d
}
