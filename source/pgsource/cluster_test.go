package pgsource_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/snapexport/snapexport/internal/testenv"
)

// A private PostgreSQL cluster, started by the tests that need what the
// shared server cannot give: password authentication (the shared server
// trusts 127.0.0.1), a server whose every database the test owns, and a
// hot standby. It listens on a free loopback port, runs as the postgres OS
// user (initdb refuses root), and is removed when the test binary exits.

const clusterPassword = "s3cret-Pa55word"

// rejectedDatabase is a database of the private cluster that pg_hba.conf
// refuses connections to.
const rejectedDatabase = "pgs_hba_rejected"

type cluster struct {
	dir  string // parent of the data directories
	bin  string
	port int
	// standbyPort is set once the standby runs.
	standbyPort int
	dataDirs    []string
}

var (
	clusterOnce sync.Once
	theCluster  *cluster
	clusterErr  error
	standbyOnce sync.Once
	standbyErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RunAtExit() // drops the package's database on the shared server
	if theCluster != nil {
		theCluster.stop()
	}
	os.Exit(code)
}

// privateCluster starts the cluster once per test binary.
func privateCluster(t *testing.T) *cluster {
	t.Helper()
	clusterOnce.Do(func() { theCluster, clusterErr = startCluster() })
	if clusterErr != nil {
		testenv.Unavailable(t, "a private PostgreSQL cluster (initdb, pg_ctl, run as root with a postgres OS user)",
			"install the postgresql server package", clusterErr)
	}
	return theCluster
}

func pgBinDir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := string(out[:len(out)-1])
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", fmt.Errorf("initdb not found")
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// asPostgres runs a server binary as the postgres OS user.
func asPostgres(env []string, name string, args ...string) error {
	cmdArgs := append([]string{"-u", "postgres", "--", "env"}, env...)
	cmdArgs = append(cmdArgs, name)
	cmdArgs = append(cmdArgs, args...)
	out, err := exec.Command("runuser", cmdArgs...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", filepath.Base(name), err, out)
	}
	return nil
}

func startCluster() (*cluster, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("not running as root")
	}
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgsource-cluster-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, bin: bin}
	fail := func(err error) (*cluster, error) {
		c.stop()
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return fail(err)
	}
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte(clusterPassword+"\n"), 0o644); err != nil {
		return fail(err)
	}
	data := filepath.Join(dir, "primary")
	if err := os.Mkdir(data, 0o700); err != nil {
		return fail(err)
	}
	if err := exec.Command("chown", "postgres", data).Run(); err != nil {
		return fail(fmt.Errorf("chown postgres: %v", err))
	}
	if err := asPostgres(nil, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--pwfile="+pwfile,
		"--auth=scram-sha-256", "-N", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		return fail(err)
	}
	// pg_hba: one database refuses every connection (a database the role
	// may CONNECT to but cannot reach), and replication is allowed for the
	// standby's base backup.
	hbaPath := filepath.Join(data, "pg_hba.conf")
	hba, err := os.ReadFile(hbaPath)
	if err != nil {
		return fail(err)
	}
	hba = append([]byte("host "+rejectedDatabase+" all 127.0.0.1/32 reject\n"), hba...)
	hba = append(hba, "host replication all 127.0.0.1/32 scram-sha-256\n"...)
	if err := os.WriteFile(hbaPath, hba, 0o600); err != nil {
		return fail(err)
	}
	if c.port, err = freePort(); err != nil {
		return fail(err)
	}
	if err := c.pgctlStart(data, c.port, ""); err != nil {
		return fail(err)
	}
	return c, nil
}

func (c *cluster) pgctlStart(data string, port int, extra string) error {
	c.dataDirs = append(c.dataDirs, data)
	return asPostgres(nil, filepath.Join(c.bin, "pg_ctl"), "-D", data, "-w", "-t", "60", "-l", filepath.Join(data, "server.log"),
		"-o", "-c listen_addresses=127.0.0.1 -p "+strconv.Itoa(port)+" -c unix_socket_directories='' -c fsync=off "+
			"-c shared_buffers=16MB -c max_connections=40 "+extra, "start")
}

func (c *cluster) stop() {
	for i := len(c.dataDirs) - 1; i >= 0; i-- {
		asPostgres(nil, filepath.Join(c.bin, "pg_ctl"), "-D", c.dataDirs[i], "-m", "immediate", "stop")
	}
	os.RemoveAll(c.dir)
}

// url is a URL of the primary for user/password and database.
func (c *cluster) url(user, password, database string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", user, password, c.port, database)
}

// exec runs statements as the superuser on a database of the primary.
func (c *cluster) exec(t *testing.T, database string, sqls ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.url("postgres", clusterPassword, database))
	if err != nil {
		t.Fatalf("connect to the private cluster: %v", err)
	}
	defer conn.Close(ctx)
	for _, q := range sqls {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// standby starts a hot standby of the primary (once) and returns its port.
func (c *cluster) standby(t *testing.T) int {
	t.Helper()
	standbyOnce.Do(func() {
		data := filepath.Join(c.dir, "standby")
		if standbyErr = os.Mkdir(data, 0o700); standbyErr != nil {
			return
		}
		if standbyErr = exec.Command("chown", "postgres", data).Run(); standbyErr != nil {
			return
		}
		standbyErr = asPostgres([]string{"PGPASSWORD=" + clusterPassword}, filepath.Join(c.bin, "pg_basebackup"),
			"-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres", "-D", data, "-R", "-X", "stream", "-c", "fast")
		if standbyErr != nil {
			return
		}
		port, err := freePort()
		if err != nil {
			standbyErr = err
			return
		}
		if standbyErr = c.pgctlStart(data, port, "-c hot_standby=on"); standbyErr == nil {
			c.standbyPort = port
		}
	})
	if standbyErr != nil {
		t.Fatalf("starting a standby: %v", standbyErr)
	}
	return c.standbyPort
}
