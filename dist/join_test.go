package dist

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	torch "gogan/cgo"
)

// TestUnresolvableMasterAddrIsNamed: a MASTER_ADDR that names no host is
// said at once (the store's client waits for it until the timeout, as for
// a host still starting), and the failed join names it rather than ranks
// that never came.
func TestUnresolvableMasterAddrIsNamed(t *testing.T) {
	if !torch.HasBackend(torch.Gloo) {
		t.Fatal("libgotorch was built without c10d's Gloo backend: install libgloo-dev (make setup) and rebuild with make lib")
	}
	var log bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&log, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	j := &Job{Rank: 1, World: 2, LocalRank: 1, LocalWorld: 2, Addr: "no-such-host.invalid", Port: 29999}
	err := j.Join(torch.CPUDevice, 2*time.Second)
	if err == nil {
		torch.DestroyGroup()
		t.Fatal("joined a group at a host that does not exist")
	}
	if want := "MASTER_ADDR no-such-host.invalid does not resolve from this machine"; !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "not all 2 ranks joined") {
		t.Errorf("error %q, want it to say %q", err, want)
	}
	if want := "MASTER_ADDR no-such-host.invalid does not resolve here"; !strings.Contains(log.String(), want) {
		t.Errorf("log %q, want it to say %q before the wait", log.String(), want)
	}
	// an address, or a name that resolves, is not looked up for a warning
	for _, addr := range []string{"127.0.0.1", "::1", "localhost"} {
		if err := resolve(addr, time.Second); err != nil {
			t.Errorf("resolve(%q): %v", addr, err)
		}
	}
}

// TestRankZeroAloneWaitsTheTimeoutOnce: rank 0 of a job whose other ranks
// never come fails after train.dist_timeout, not twice it (libtorch 1.13's
// store waited for the workers until the timeout, silently, before Gloo
// waited for their addresses as long again).
func TestRankZeroAloneWaitsTheTimeoutOnce(t *testing.T) {
	if !torch.HasBackend(torch.Gloo) {
		t.Fatal("libgotorch was built without c10d's Gloo backend: install libgloo-dev (make setup) and rebuild with make lib")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0") // a free port
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	j := &Job{Rank: 0, World: 2, LocalRank: 0, LocalWorld: 2, Addr: "127.0.0.1", Port: port}
	const timeout = 3 * time.Second
	start := time.Now()
	err = j.Join(torch.CPUDevice, timeout)
	took := time.Since(start)
	if err == nil {
		torch.DestroyGroup()
		t.Fatal("rank 0 joined a group of 2 alone")
	}
	if !strings.Contains(err.Error(), "not all 2 ranks joined within train.dist_timeout, 3s") {
		t.Errorf("error %q does not say the other rank never joined", err)
	}
	if took < timeout || took > 2*timeout-time.Second {
		t.Errorf("rank 0 alone failed after %v, want about train.dist_timeout (%v)", took, timeout)
	}
}

// TestJoinHintReadsEachLibtorchsTimeout: the messages with which a join
// waits past the timeout, in libtorch 1.13 and 2.x, are read as ranks that
// never came (2.x's store says "wait timeout after ...ms" where 1.13's said
// "Socket Timeout"); world sizes that differ, said by gt_dist_init or by
// 1.13's Gloo (an address of another size), as such, even after a wait;
// anything else gets no hint.
func TestJoinHintReadsEachLibtorchsTimeout(t *testing.T) {
	const joined = " (not all 2 ranks joined within train.dist_timeout, 3s:"
	for _, c := range []struct{ msg, want string }{
		{"torch: init_process_group: Socket Timeout", joined},                                                       // 1.13
		{"torch: init_process_group: wait timeout after 3000ms, keys: //gogan//0/1", joined},                        // 2.x
		{"torch: init_process_group: The client socket has timed out after 3000ms while trying to connect", joined}, // 2.x
		{"torch: init_process_group: Timed out after 4 seconds waiting for clients. 1/2 clients joined.", joined},   // 2.x, waitWorkers
		{"torch: init_process_group: [enforce fail at gloo/transport/tcp/address.cc:88] sizeof(impl_) == bytes.size(). 136 vs 272", " (the ranks disagree on the number of ranks"},
		{"torch: init_process_group: world sizes differ: rank 0 has 2, rank 1 (this one) 3", " (the ranks disagree on the number of ranks"},
		{"torch: init_process_group: wait timeout after 3000ms, keys: //gogan//0/1 (world sizes differ: rank 1 has 3, rank 0 (this one) 2)", " (the ranks disagree on the number of ranks"},
		{"torch: init_process_group: Connection refused", ""},
	} {
		got := joinHint(errors.New(c.msg), 2, "127.0.0.1", 29500, 3*time.Second)
		if c.want == "" && got != "" || !strings.HasPrefix(got, c.want) {
			t.Errorf("joinHint(%q) = %q, want it to begin %q", c.msg, got, c.want)
		}
	}
}

// TestTakenMasterPortIsNamed: rank 0, serving the store on a MASTER_PORT
// another program holds, fails at once saying that the port is taken and
// what to do (libtorch's message names only the bind).
func TestTakenMasterPortIsNamed(t *testing.T) {
	if !torch.HasBackend(torch.Gloo) {
		t.Fatal("libgotorch was built without c10d's Gloo backend: install libgloo-dev (make setup) and rebuild with make lib")
	}
	l, err := net.Listen("tcp", ":0") // every address, as the store binds
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	j := &Job{Rank: 0, World: 2, LocalRank: 0, LocalWorld: 2, Addr: "127.0.0.1", Port: port}
	err = j.Join(torch.CPUDevice, 3*time.Second)
	if err == nil {
		torch.DestroyGroup()
		t.Fatal("rank 0 served the store on a port another program holds")
	}
	if want := fmt.Sprintf("MASTER_PORT %d is taken on this machine", port); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to say %q", err, want)
	}
}

// TestOtherProgramAtMasterPortIsNamed: a MASTER_ADDR and MASTER_PORT that
// reach another program, not the rendezvous store, are said as such: one
// that speaks first (an SSH server's banner) aborted the process in
// libtorch 1.13's store client (std::bad_alloc on its own thread); one
// that answers a query with other bytes (a web server's 400) failed in
// "Stop_waiting response is expected" alone.
func TestOtherProgramAtMasterPortIsNamed(t *testing.T) {
	if !torch.HasBackend(torch.Gloo) {
		t.Fatal("libgotorch was built without c10d's Gloo backend: install libgloo-dev (make setup) and rebuild with make lib")
	}
	serve := func(answer func(c net.Conn)) int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				t.Cleanup(func() { c.Close() })
				go answer(c)
			}
		}()
		return l.Addr().(*net.TCPAddr).Port
	}
	ssh := serve(func(c net.Conn) { c.Write([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")) })
	web := serve(func(c net.Conn) {
		time.Sleep(200 * time.Millisecond) // the client's query whole: the answer, not a broken pipe, fails it
		c.Read(make([]byte, 1024))
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"))
		c.Close()
	})
	// rank 0 too under a torchrun agent, whose store it reaches as a client
	for _, port := range []int{ssh, web} {
		for _, c := range []struct {
			rank  int
			agent bool
		}{{1, false}, {1, true}, {0, true}} {
			j := &Job{Rank: c.rank, World: 2, LocalRank: c.rank, LocalWorld: 2, Addr: "127.0.0.1", Port: port, AgentStore: c.agent}
			err := j.Join(torch.CPUDevice, 3*time.Second)
			if err == nil {
				torch.DestroyGroup()
				t.Fatalf("rank %d joined a group at a port where no store is", c.rank)
			}
			if want := fmt.Sprintf("another program answers at 127.0.0.1:%d, not a rendezvous store", port); !strings.Contains(err.Error(), want) {
				t.Errorf("port %d, rank %d, agent store %v: error %q, want it to say %q", port, c.rank, c.agent, err, want)
			}
		}
	}
	if err := (&Job{Rank: 1, World: 2, Addr: "127.0.0.1", Port: ssh}).Join(torch.CPUDevice, 3*time.Second); err == nil || !strings.Contains(err.Error(), `it sent "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3" unasked`) {
		t.Errorf("error %v, want it to quote what the program sent", err)
	}
}
