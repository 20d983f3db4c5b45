package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// writeTestPNG draws a w x h gray rectangle outline, a stand-in edge drawing.
func writeTestPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for x := 4; x < w-4; x++ {
		img.SetGray(x, 4, color.Gray{255})
		img.SetGray(x, h-5, color.Gray{255})
	}
	for y := 4; y < h-4; y++ {
		img.SetGray(4, y, color.Gray{255})
		img.SetGray(w-5, y, color.Gray{255})
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func pngSize(t *testing.T, path string) (int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c.Width, c.Height
}

// writePNG writes any image as a PNG (8- or 16-bit gray, RGB).
func writePNG(t *testing.T, path string, im image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, im); err != nil {
		t.Fatal(err)
	}
}

// readPNG decodes a PNG file as NRGBA.
func readPNG(t *testing.T, path string) *image.NRGBA {
	t.Helper()
	im := decodePNG(t, readFile(t, path))
	out := image.NewNRGBA(im.Bounds())
	draw.Draw(out, out.Bounds(), im, im.Bounds().Min, draw.Src)
	return out
}

// decodeJPEG reads a JPEG file (Go's decoder: for test images, not pixels
// compared with PIL's).
func decodeJPEG(t *testing.T, path string) image.Image {
	t.Helper()
	im, err := jpeg.Decode(bytes.NewReader(readFile(t, path)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return im
}

// waitUntil returns once ready says so (looked at every 2 ms, for up to 2
// minutes) while the started cmd runs; where it never does, it kills cmd
// and fails the test with cmd's output, saying what did not come.
func waitUntil(t *testing.T, cmd *exec.Cmd, out fmt.Stringer, what string, ready func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !ready(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%s: no %s within 2 minutes:\n%s", cmd, what, out.String())
		}
	}
}

// signalWhen sends the started cmd sig as soon as ready says so (waitUntil).
func signalWhen(t *testing.T, cmd *exec.Cmd, out fmt.Stringer, what string, ready func() bool, sig os.Signal) {
	t.Helper()
	waitUntil(t, cmd, out, what, ready)
	cmd.Process.Signal(sig)
}

// freeTCPPort is a local port free now, for ranks started by hand whose
// rank 0 serves the rendezvous store (as without torchrun's agent): picked
// and let go, it could be taken before rank 0 binds it, which gogan's own
// launcher avoids by serving the store itself. It is picked below the
// kernel's ephemeral range (ip_local_port_range), from which bind(0) and
// every outgoing connection take theirs: a port of that range, free at the
// pick, could become another socket's local port in the second or two
// before rank 0 (or serve) started, while other tests make connections by
// the hundred, and its bind then failed.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var lo, hi int
		if _, err := fmt.Sscan(string(b), &lo, &hi); err == nil && lo > 12000 {
			for range 100 {
				port := 10000 + rand.IntN(lo-10000)
				if l, err := net.Listen("tcp", fmt.Sprintf(":%d", port)); err == nil {
					l.Close()
					return port
				}
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeIDXRoot writes an IDX dataset under root, n random 28x28 images a
// split labelled 0-9 in turn, gzipped as Fashion-MNIST's: images that are
// not Fashion-MNIST's. It returns the train images file unzipped.
func writeIDXRoot(t *testing.T, root string, n int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	idx := func(magic uint32, dims []int, data []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, magic)
		for _, d := range dims {
			b = binary.BigEndian.AppendUint32(b, uint32(d))
		}
		return append(b, data...)
	}
	var train []byte
	for _, stem := range []string{"train", "t10k"} {
		pix, labels := make([]byte, n*28*28), make([]byte, n)
		for i := range pix {
			pix[i] = byte(rng.IntN(256))
		}
		for i := range labels {
			labels[i] = byte(i % 10)
		}
		images := idx(0x803, []int{n, 28, 28}, pix)
		if stem == "train" {
			train = images
		}
		for name, b := range map[string][]byte{"images-idx3": images, "labels-idx1": idx(0x801, []int{n}, labels)} {
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			w.Write(b)
			w.Close()
			if err := os.MkdirAll(root, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, stem+"-"+name+"-ubyte.gz"), z.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return train
}

// mountTmpfs mounts a tmpfs with opts (size=4200k, ro,size=1m) at dir for
// the rest of the test: a full disk or a read-only folder, as root sees
// them too. Mounting needs root, which make test and CI have.
func mountTmpfs(t *testing.T, dir, opts string) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Fatalf("%s mounts a tmpfs and needs root (make test runs as root in CI)", t.Name())
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
}
