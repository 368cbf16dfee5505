package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"go/build"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// --remote starts the servers the remote transports read from, each on a
// free port on 127.0.0.1, in a folder inside the run's private disk folder
// (so the cleaner removes their objects, logs and temporary files with
// it): versitygw serving a posix folder as S3 with generated credentials,
// and nginx serving a folder over HTTP. Both are children of arrbench,
// killed at the end, on Ctrl-C and (on Linux) when arrbench dies.

// Environment variables naming the server binaries, as for the remote
// tests (internal/servertest).
const (
	envVersitygw = "ARRFILE_VERSITYGW"
	envNginx     = "ARRFILE_NGINX"
)

// remoteServers are the running servers of --remote.
type remoteServers struct {
	bucket    string // the S3 bucket
	bucketDir string // its folder on versitygw's side
	httpURL   string // http://127.0.0.1:PORT of nginx
	httpRoot  string // the folder nginx serves
	restore   func() // puts the environment back as it was
	running   []*server
}

// server is one running server process.
type server struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// stop kills the servers and waits for them to exit.
func (s *remoteServers) stop() {
	for _, p := range s.running {
		killChild(p.cmd)
		<-p.exited
	}
	s.running = nil
}

// findServer returns the binary named by env, on PATH, or at one of the
// extra places; the error says how to get it.
func findServer(env, name, install string, extra ...string) (string, error) {
	if p := os.Getenv(env); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("%s=%s: not an executable file (%s, or point %s at the binary)", env, p, install, env)
		}
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, p := range extra {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found (%s, or set %s to the binary)", name, install, env)
}

// findServers returns the versitygw and nginx binaries, or an error that
// says how to get them.
func findServers() (vgw, nginx string, err error) {
	var missing []string
	vgw, err = findServer(envVersitygw, "versitygw", "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0", filepath.Join(build.Default.GOPATH, "bin", "versitygw"))
	if err != nil {
		missing = append(missing, err.Error())
	}
	nginx, err = findServer(envNginx, "nginx", "apt-get install nginx-light", "/usr/sbin/nginx")
	if err != nil {
		missing = append(missing, err.Error())
	}
	if len(missing) > 0 {
		return "", "", errors.New("--remote: " + strings.Join(missing, "; "))
	}
	return vgw, nginx, nil
}

// startRemoteServers starts versitygw and nginx in a new folder in dir.
func startRemoteServers(dir string) (_ *remoteServers, err error) {
	vgw, nginx, err := findServers()
	if err != nil {
		return nil, err
	}
	var root string
	root, err = os.MkdirTemp(dir, "servers-")
	if err != nil {
		return nil, err
	}
	// nginx's workers must be able to read the served folder.
	os.Chmod(dir, 0o755)
	os.Chmod(root, 0o755)
	s := &remoteServers{bucket: "arrbench"}
	defer func() {
		if err != nil {
			s.stop() // the cleaner removes the folder
		}
	}()
	s3Root := filepath.Join(root, "s3")
	s.bucketDir = filepath.Join(s3Root, s.bucket)
	s.httpRoot = filepath.Join(root, "www")
	for _, d := range []string{s.bucketDir, s.httpRoot, filepath.Join(root, "nginx-tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}

	access, secret := "K"+randHex(8), randHex(20)
	s3Addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// The credentials go through the environment, not the command line
	// (which ps shows).
	cmd := exec.Command(vgw, "--port", s3Addr, "posix", s3Root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+access, "ROOT_SECRET_ACCESS_KEY="+secret)
	if err := s.start(cmd, s3Addr, filepath.Join(root, "versitygw.log"), access, secret); err != nil {
		return nil, err
	}

	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s.httpURL = "http://" + addr
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := fmt.Sprintf(`%s
daemon off;
master_process off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/nginx-error.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path %[2]s/nginx-tmp;
	sendfile on;
	server {
		listen %[3]s;
		root %[4]s;
		location / { }
	}
}
`, user, root, addr, s.httpRoot)
	cf := filepath.Join(root, "nginx.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd = exec.Command(nginx, "-p", root, "-c", cf, "-e", filepath.Join(root, "nginx-error.log"))
	if err := s.start(cmd, addr, filepath.Join(root, "nginx.log")); err != nil {
		return nil, err
	}

	// The producer's Put and the worker's Fetch (which inherits the
	// environment) use the SDK's standard configuration: point it at
	// versitygw, away from the user's AWS files and instance metadata.
	s.restore = setenv(map[string]string{
		"AWS_ACCESS_KEY_ID":           access,
		"AWS_SECRET_ACCESS_KEY":       secret,
		"AWS_REGION":                  "us-east-1",
		"AWS_ENDPOINT_URL_S3":         "http://" + s3Addr,
		"AWS_CONFIG_FILE":             filepath.Join(root, "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(root, "none"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_SESSION_TOKEN":           "",
		"AWS_ENDPOINT_URL":            "",
		"AWS_PROFILE":                 "",
		"AWS_DEFAULT_PROFILE":         "",
		"AWS_CA_BUNDLE":               "",
	})
	return s, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// freeAddr returns 127.0.0.1:PORT with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// start starts cmd as a child that the cleaner kills, with its output in
// logName, and waits until it accepts connections on addr. A server that
// exits or does not listen is an error quoting the end of its log, with
// the credentials (hide) blanked out.
func (s *remoteServers) start(cmd *exec.Cmd, addr, logName string, hide ...string) error {
	out, err := os.Create(logName)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	isolateChild(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("--remote: start %s: %w", cmd.Path, err)
	}
	registerChild(cmd)
	exited := make(chan error, 1)
	p := &server{cmd: cmd, exited: make(chan struct{})}
	s.running = append(s.running, p)
	go func() {
		err := cmd.Wait()
		unregisterChild(cmd)
		exited <- err
		close(p.exited)
	}()
	explain := func(what string) error {
		b, _ := os.ReadFile(logName)
		if len(b) > 2048 {
			b = b[len(b)-2048:]
		}
		log := string(b)
		for _, h := range hide {
			if h != "" {
				log = strings.ReplaceAll(log, h, "***")
			}
		}
		return fmt.Errorf("--remote: %s %s:\n%s", filepath.Base(cmd.Path), what, strings.TrimSpace(log))
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-exited:
			return explain(fmt.Sprintf("exited (%v)", err))
		default:
		}
		if time.Now().After(deadline) {
			killChild(cmd)
			return explain("does not listen on " + addr + " after 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// setenv sets the variables ("" unsets one) and returns a function that
// puts back what was there before.
func setenv(vars map[string]string) (restore func()) {
	type old struct {
		v  string
		ok bool
	}
	saved := map[string]old{}
	for k, v := range vars {
		o, ok := os.LookupEnv(k)
		saved[k] = old{o, ok}
		if v == "" {
			os.Unsetenv(k)
		} else {
			os.Setenv(k, v)
		}
	}
	return func() {
		for k, o := range saved {
			if o.ok {
				os.Setenv(k, o.v)
			} else {
				os.Unsetenv(k)
			}
		}
	}
}
