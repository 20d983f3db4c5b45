package torch

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// spinHelperEnv makes this test binary the subprocess of
// TestSpinBrieflyExecutesAgain: it records each start of its program in the
// file the variable names, calls SpinBriefly and prints what it ran with.
const spinHelperEnv = "TORCH_SPIN_HELPER"

func TestMain(m *testing.M) {
	if starts := os.Getenv(spinHelperEnv); starts != "" {
		spinHelper(starts)
		return
	}
	os.Exit(m.Run())
}

func spinHelper(starts string) {
	f, err := os.OpenFile(starts, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		_, err = fmt.Fprintln(f, os.Getpid())
		f.Close()
	}
	if err == nil {
		err = SpinBriefly()
	}
	if err != nil {
		fmt.Println(err)
		os.Exit(3)
	}
	v, set := os.LookupEnv("GOMP_SPINCOUNT")
	fmt.Printf("GOMP_SPINCOUNT=%q set=%v wait=%q", v, set, OpenMPWait())
	os.Exit(0)
}

// TestSpinBrieflyExecutesAgain runs a process that calls SpinBriefly: where
// neither OpenMP variable is set and libgomp is loaded (Debian's libtorch
// links it), the program starts a second time, in the same process, with
// GOMP_SPINCOUNT=3000; a variable the user set is left as it is, and the
// program runs once.
func TestSpinBrieflyExecutesAgain(t *testing.T) {
	gomp := libgompLoaded()
	cases := []struct {
		name, set string // set: one more variable, KEY=VALUE
		starts    int
		want      string
	}{
		{"neither set", "", 2, `GOMP_SPINCOUNT="3000" set=true wait="GOMP_SPINCOUNT=3000"`},
		{"wait policy set", "OMP_WAIT_POLICY=active", 1, `GOMP_SPINCOUNT="" set=false wait="OMP_WAIT_POLICY=active"`},
		{"spin count set", "GOMP_SPINCOUNT=7", 1, `GOMP_SPINCOUNT="7" set=true wait="GOMP_SPINCOUNT=7"`},
	}
	if !gomp { // libtorch built with another OpenMP: nothing to shorten
		cases = cases[:1]
		cases[0].starts, cases[0].want = 1, `GOMP_SPINCOUNT="" set=false wait=""`
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			starts := filepath.Join(t.TempDir(), "starts")
			cmd := exec.Command(os.Args[0])
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "GOMP_SPINCOUNT=") && !strings.HasPrefix(kv, "OMP_WAIT_POLICY=") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			cmd.Env = append(cmd.Env, spinHelperEnv+"="+starts)
			if c.set != "" {
				cmd.Env = append(cmd.Env, c.set)
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			if string(out) != c.want {
				t.Errorf("helper printed %s, want %s", out, c.want)
			}
			pids, err := os.ReadFile(starts)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Fields(string(pids))
			if len(lines) != c.starts {
				t.Fatalf("program started %d times (pids %v), want %d", len(lines), lines, c.starts)
			}
			if lines[0] != lines[len(lines)-1] || lines[0] != fmt.Sprint(cmd.Process.Pid) {
				t.Errorf("starts in pids %v, want each in the helper's process %d", lines, cmd.Process.Pid)
			}
		})
	}
}

// TestCPUsAtMostTheCores: a GOMAXPROCS set above the cores the process may
// use (GOMAXPROCS=64 for a server's goroutines on a 2-core machine) does not
// make threads 0 start more libtorch threads than there are cores; one set
// below them still counts.
func TestCPUsAtMostTheCores(t *testing.T) {
	cores := runtime.NumCPU()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(cores + 3)
	if got := CPUs(); got != cores {
		t.Errorf("GOMAXPROCS %d on %d cores: CPUs() = %d, want %d", cores+3, cores, got, cores)
	}
	runtime.GOMAXPROCS(1)
	if got := CPUs(); got != 1 {
		t.Errorf("GOMAXPROCS 1: CPUs() = %d, want 1", got)
	}
}

// TestThreadsNeeded: the room threadRoom checks is 2n+1 threads, and before
// libtorch 1.x's first pthreadpool (first: the host's processors) at least
// first+n+1, both pools being alive at once.
func TestThreadsNeeded(t *testing.T) {
	for _, c := range []struct {
		n           int
		made        bool
		first, want int
	}{
		{1, false, 16, 18}, {1, true, 16, 3}, {2, false, 0, 5}, {8, false, 4, 17}, {4, false, 2, 9}, {2, false, 2, 5},
	} {
		if got := threadsNeeded(c.n, c.made, c.first); got != c.want {
			t.Errorf("threadsNeeded(%d, made %v, first pool %d) = %d, want %d", c.n, c.made, c.first, got, c.want)
		}
	}
}

// TestCgroupPids: the pids limit that a refusal names is found in a
// container's own cgroup namespace (PATH /: the limit is on the mount
// itself), up a nested cgroup v2 path, and in cgroup v1's pids hierarchy
// (a host PATH missing from the container's mount). The namespaced cgroup v2
// case, Docker's --pids-limit on today's hosts, said that no pids.max limited
// the threads.
func TestCgroupPids(t *testing.T) {
	write := func(t *testing.T, path, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, self string
		files      map[string]string
		max, cur   string
	}{
		{"v2, a container's namespace", "0::/\n", map[string]string{"pids.max": "64\n", "pids.current": "7\n"}, "64", "7"},
		{"v2, nested", "0::/user.slice/run.scope\n", map[string]string{"user.slice/run.scope/pids.max": "max\n", "user.slice/pids.max": "100\n", "user.slice/pids.current": "12\n"}, "100", "12"},
		{"v1, host path", "12:memory:/docker/abc\n5:pids:/docker/abc\n0::/\n", map[string]string{"pids/pids.max": "32\n", "pids/pids.current": "3\n"}, "32", "3"},
		{"v1, with other controllers", "4:cpu,pids:/job\n", map[string]string{"pids/job/pids.max": "9\n"}, "9", "?"},
		{"none finite", "0::/a\n", map[string]string{"a/pids.max": "max\n"}, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			fs := filepath.Join(dir, "cgroup")
			write(t, filepath.Join(dir, "self"), c.self)
			// a pids.max above the mount is never read
			write(t, filepath.Join(dir, "pids.max"), "1\n")
			for name, text := range c.files {
				write(t, filepath.Join(fs, name), text)
			}
			max, cur, ok := cgroupPidsIn(filepath.Join(dir, "self"), fs)
			if ok != (c.max != "") || max != c.max || cur != c.cur {
				t.Errorf("cgroupPidsIn = %q, %q, %v; want %q, %q", max, cur, ok, c.max, c.cur)
			}
		})
	}
}
