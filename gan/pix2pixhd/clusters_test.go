package pix2pixhd

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/cgo/torchtest"
	"gogan/gan"
	"gogan/runfolder"
)

// scipyKMeans is SciPy's k-means (kmeans2, k-means++ starts) on the same
// points, the lowest inertia of 20 seeded starts: centres and inertia.
const scipyKMeans = `
import json, sys
import numpy as np
from scipy.cluster.vq import kmeans2
pts = np.array(json.loads(sys.argv[1]), dtype=np.float64)
k = int(sys.argv[2])
best = None
for seed in range(20):
    c, lab = kmeans2(pts, k, minit='++', iter=300, seed=seed)
    inertia = float(((pts - c[lab]) ** 2).sum())
    if best is None or inertia < best[1]:
        best = (c.tolist(), inertia)
print(json.dumps({"centres": best[0], "inertia": best[1]}))
`

// TestKMeansFindsSciPysClusters: on blobs of encoded-feature-like points
// (3 channels in [-1, 1]) gogan's k-means ends where SciPy's best start
// does; with as many clusters as points each point is a centre, with one
// the mean.
func TestKMeansFindsSciPysClusters(t *testing.T) {
	py := torchtest.Python(t)
	r := rand.New(rand.NewPCG(1, 2))
	var pts [][]float32
	for b := range 5 {
		c := []float64{-0.8 + 0.4*float64(b), 0.5 * math.Sin(float64(b)), 0.3 * float64(b%2)}
		for range 20 + 7*b {
			pts = append(pts, []float32{float32(c[0] + 0.03*r.NormFloat64()), float32(c[1] + 0.03*r.NormFloat64()), float32(c[2] + 0.03*r.NormFloat64())})
		}
	}
	got := kmeans(pts, 5, 0)
	in, _ := json.Marshal(pts)
	b, err := exec.Command(py, "-c", scipyKMeans, string(in), "5").CombinedOutput()
	if err != nil {
		t.Fatalf("scipy: %v\n%s", err, b)
	}
	var ref struct {
		Centres [][]float64
		Inertia float64
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	sortCentres := func(cs [][]float64) {
		slices.SortFunc(cs, func(a, b []float64) int {
			if a[0] < b[0] {
				return -1
			}
			return 1
		})
	}
	gotF := make([][]float64, len(got))
	for i, c := range got {
		gotF[i] = toF64(c)
	}
	sortCentres(gotF)
	sortCentres(ref.Centres)
	for i := range ref.Centres {
		for d := range 3 {
			if diff := math.Abs(gotF[i][d] - ref.Centres[i][d]); diff > 1e-5 {
				t.Fatalf("centre %d: %v, SciPy's %v", i, gotF[i], ref.Centres[i])
			}
		}
	}
	if inertia := inertiaOf(pts, got); inertia > ref.Inertia*(1+1e-6) {
		t.Errorf("inertia %g, SciPy's best %g", inertia, ref.Inertia)
	}

	few := pts[:4]
	if all := kmeans(few, 4, 0); inertiaOf(few, all) != 0 {
		t.Errorf("4 clusters of 4 points: inertia %g, want 0", inertiaOf(few, all))
	}
	one := kmeans(few, 1, 0)[0]
	for d := range 3 {
		var m float64
		for _, p := range few {
			m += float64(p[d]) / 4
		}
		if math.Abs(float64(one[d])-m) > 1e-6 {
			t.Errorf("1 cluster: centre %v, want the mean", one)
		}
	}
}

func inertiaOf(pts, centres [][]float32) float64 {
	var s float64
	for _, p := range pts {
		best := math.Inf(1)
		for _, c := range centres {
			var d float64
			for i := range p {
				d += (float64(p[i]) - float64(c[i])) * (float64(p[i]) - float64(c[i]))
			}
			best = min(best, d)
		}
		s += best
	}
	return s
}

// TestClustersRefuseNPY: pix2pixHD's own features_clustered_010.npy given to
// translate --features is named for what it is, with the way to make
// gogan's file.
func TestClustersRefuseNPY(t *testing.T) {
	path := filepath.Join(t.TempDir(), "features_clustered_010.npy")
	// np.save of a dict: the magic, version 1.0, a header, a pickle
	os.WriteFile(path, append([]byte("\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, 'shape': (), }"), 0x80, 2), 0o644)
	_, err := loadClusters(path, nil, nil, runfolder.Checkpoint{Dir: "runs/hd/checkpoints/step-00000010"})
	if err == nil || !strings.Contains(err.Error(), "is a NumPy file, as pix2pixHD's encode_features.py writes") ||
		!strings.Contains(err.Error(), "gogan features --checkpoint runs/hd/checkpoints/step-00000010") {
		t.Errorf("loadClusters of a .npy: %v", err)
	}
}

// TestSampledFeaturesNameClassesWithoutClusters: translate --features
// gives a region whose class has clusters the centre of one of them, and
// one whose class has none zeros (sample_features leaves its
// torch.cuda.FloatTensor unset there), with a warning that names those
// classes once in a run, not at every batch.
func TestSampledFeaturesNameClassesWithoutClusters(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })

	f := &features{num: 2, byLabel: true, regions: 8}
	s := &clusterSampler{cl: &clusters{f: f, centres: map[int][][]float32{1: {{0.5, -0.25}}}}, rng: rand.New(rand.NewPCG(1, 0))}
	labels := gan.Batch{"A": torch.FromFloat32([]float32{1, 1, 7, 3}, 1, 1, 2, 2)}
	got := s.Sample(labels).Float32s()
	if want := []float32{0.5, 0.5, 0, 0, -0.25, -0.25, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("features %v, want %v (class 1's centre, zeros for classes 3 and 7)", got, want)
	}
	if n := strings.Count(logs.String(), "WARN"); n != 1 || !strings.Contains(logs.String(), "classes=\"[3 7]\"") || !strings.Contains(logs.String(), "gogan features") {
		t.Errorf("log %q: want one warning naming classes 3 and 7 and gogan features", logs.String())
	}
	s.Sample(labels)
	s.Sample(gan.Batch{"A": torch.FromFloat32([]float32{1, 5, 3, 3}, 1, 1, 2, 2)})
	if n := strings.Count(logs.String(), "WARN"); n != 2 || !strings.Contains(logs.String(), "classes=[5]") {
		t.Errorf("log %q: want a second warning, naming class 5 alone", logs.String())
	}
}
