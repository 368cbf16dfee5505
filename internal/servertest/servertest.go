// Package servertest starts the real servers the remote tests run
// against, each on a free port on 127.0.0.1: versitygw (S3) and nginx
// (HTTP), and a counting, fault-injecting proxy to put in front of them.
//
// A missing server binary skips the test on a developer's machine, saying
// what to install, and fails it under CI=true (.ci/run installs both).
package servertest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"go/build"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Environment variables naming the server binaries (default: PATH, then
// $(go env GOPATH)/bin for versitygw and /usr/sbin for nginx).
const (
	EnvVersitygw = "ARRFILE_VERSITYGW"
	EnvNginx     = "ARRFILE_NGINX"
)

func need(t testing.TB, what, install string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found, but CI must run the remote tests (%s)", what, install)
	}
	t.Skipf("skipping: %s not found on this machine (%s to run it)", what, install)
}

func find(env, name string, extra ...string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range extra {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// VersitygwPath returns the versitygw binary, or "".
func VersitygwPath() string {
	return find(EnvVersitygw, "versitygw", filepath.Join(build.Default.GOPATH, "bin", "versitygw"))
}

// NginxPath returns the nginx binary, or "".
func NginxPath() string {
	return find(EnvNginx, "nginx", "/usr/sbin/nginx")
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// freePort returns a port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs cmd and waits until addr accepts connections.
func start(t testing.TB, cmd *exec.Cmd, addr, logName string) {
	t.Helper()
	out, err := os.Create(logName)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		out.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logName)
			t.Fatalf("%s exited: %v\n%s", cmd.Path, err, b)
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logName)
			t.Fatalf("%s does not listen on %s after 20 s\n%s", cmd.Path, addr, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// S3 is a running versitygw serving a posix folder.
type S3 struct {
	// Endpoint is http://127.0.0.1:PORT.
	Endpoint string
	// Access and Secret are the generated credentials.
	Access, Secret string
	// Root is the served folder: a bucket is a directory in it.
	Root string
	// AccessLog is the file versitygw logs every request to.
	AccessLog string
}

// StartS3 starts versitygw on a free port with generated credentials; it
// is stopped when the test ends.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	bin := VersitygwPath()
	if bin == "" {
		need(t, "versitygw", "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
	}
	dir := t.TempDir()
	s := &S3{Access: "K" + randHex(8), Secret: randHex(20), Root: filepath.Join(dir, "root"), AccessLog: filepath.Join(dir, "access.log")}
	if err := os.Mkdir(s.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s.Endpoint = "http://" + addr
	cmd := exec.Command(bin, "--access", s.Access, "--secret", s.Secret, "--port", addr, "--access-log", s.AccessLog, "posix", s.Root)
	start(t, cmd, addr, filepath.Join(dir, "versitygw.log"))
	return s
}

// Bucket makes the bucket name (a directory under Root) and returns its
// path.
func (s *S3) Bucket(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(s.Root, name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// Env points the AWS configuration of this test at endpoint (the server
// or a proxy in front of it) with the server's credentials, and away from
// the user's AWS files and instance metadata.
func (s *S3) Env(t testing.TB, endpoint string) {
	t.Helper()
	Env(t, endpoint, s.Access, s.Secret)
}

// Env sets the AWS configuration variables of the test.
func Env(t testing.TB, endpoint, access, secret string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL_S3", endpoint)
	for _, v := range []string{"AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CA_BUNDLE"} {
		t.Setenv(v, "") // restored when the test ends
		os.Unsetenv(v)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// LoggedRequests returns the number of lines in the access log.
func (s *S3) LoggedRequests(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile(s.AccessLog)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// HTTP is a running nginx serving a folder.
type HTTP struct {
	// URL is http://127.0.0.1:PORT.
	URL string
	// PutURL is URL + "/put": below it nginx also takes PUT requests
	// (its DAV module: dav_methods PUT, create_full_put_path on), storing
	// PutURL/NAME as Root/put/NAME.
	PutURL string
	// Root is the served folder.
	Root string
	// BodyTemp is nginx's client_body_temp_path, on Root's filesystem:
	// nginx writes a PUT's body there and renames the finished file onto
	// its name, so the object appears whole or not at all.
	BodyTemp string
	// AccessLog is nginx's access log.
	AccessLog string
}

// StartHTTP starts nginx on a free port serving a new folder, from a
// temporary configuration (daemon off); it is stopped when the test ends.
//
// Below PutURL it takes PUTs of any size. nginx (ngx_http_dav_module)
// reads the whole body into a temporary file in BodyTemp, then renames it
// onto the name; a request whose body does not arrive whole fails and
// its temporary file is removed, so a reader never sees a partial object.
// Were BodyTemp on another filesystem, nginx would copy the file to
// NAME.NNNNNNNNNN next to the name and rename that: still whole at the
// name, but a half-written copy under the other name during the copy.
// nginx does not fsync either file.
func StartHTTP(t testing.TB) *HTTP {
	t.Helper()
	bin := NginxPath()
	if bin == "" {
		need(t, "nginx", "apt-get install nginx-light")
	}
	dir := t.TempDir()
	h := &HTTP{Root: filepath.Join(dir, "root"), BodyTemp: filepath.Join(dir, "tmp"), AccessLog: filepath.Join(dir, "access.log")}
	for _, d := range []string{h.Root, h.BodyTemp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The workers must be able to read the test's temporary folders.
	for d := dir; d != filepath.Dir(d) && strings.HasPrefix(d, os.TempDir()) && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	h.URL = "http://" + addr
	h.PutURL = h.URL + "/put"
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := fmt.Sprintf(`%s
daemon off;
master_process off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log;
events { worker_connections 256; }
http {
	access_log %[3]s;
	client_body_temp_path %[6]s;
	sendfile on;
	server {
		listen %[4]s;
		root %[5]s;
		location / { }
		location /put/ {
			dav_methods PUT;
			create_full_put_path on;
			dav_access user:rw group:r all:r;
			client_max_body_size 0;
		}
	}
}
`, user, dir, h.AccessLog, addr, h.Root, h.BodyTemp)
	cf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", cf, "-e", filepath.Join(dir, "error.log"))
	start(t, cmd, addr, filepath.Join(dir, "nginx.out"))
	return h
}

// LoggedRequests returns the number of lines in nginx's access log.
func (h *HTTP) LoggedRequests(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile(h.AccessLog)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}
