package pix2pixhd

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
	"gogan/nets"
	"gogan/runfolder"
)

// Clustered features: pix2pixHD's encode_features.py and sample_features.
// After training, E encodes every training photo; each region (instance, or
// class region with label_feat) larger than 1/64 of the image gives one
// feature vector to its class, and each class's vectors are clustered with
// k-means. At test time each region of a label map gets the centre of a
// random cluster of its class: diverse pictures from label maps alone.

// clustersFormat marks gogan's clustered-feature files.
const clustersFormat = "gogan-pix2pixhd-features"

// clusters are the centres of each class's encoded features.
type clusters struct {
	f       *features           // whose features they are
	centres map[int][][]float32 // class -> centres
}

// kind names what the features average over, as clusters files record it.
func (f *features) kind() string {
	if f.byLabel {
		return "label"
	}
	return "instance"
}

// regionClass is the class of a region id: the id itself for label
// regions; for instance ids pix2pixHD's (Cityscapes') convention, the class
// below 1000 and class*1000 + k above.
func (f *features) regionClass(id int) int {
	if f.byLabel || id < 1000 {
		return id
	}
	return id / 1000
}

// classes is how many classes regionClass gives: the label ids, or the
// instance ids below 1000 (above, id / 1000 is below 66).
func (f *features) classes() int {
	if f.byLabel {
		return int(f.regions)
	}
	return 1000
}

// ClusterOptions say where gogan features reads and writes.
type ClusterOptions struct {
	Checkpoint string // checkpoint or run folder
	DataRoot   string // default: the run's data.root
	Phase      string // default: the run's data.phase
	NClusters  int    // clusters per class (the reference's n_clusters, 10)
	Out        string // default: RUN/features_clustered_<NClusters>.safetensors
	Device     string
	Eval       bool // E in eval mode (default train mode, as encode_features.py)
	Limit      int  // at most this many images (0: all)
	Seed       uint64
}

// ClusterSummary is what ClusterFeatures did.
type ClusterSummary struct {
	Out             string
	Images, Regions int
	Classes         int
	Kept, Clustered int // regions large enough; centres written
	Checkpoint      string
}

// ClusterFeatures encodes the training photos with the checkpoint's E and
// writes each class's feature clusters (encode_features.py).
func ClusterFeatures(ctx context.Context, o ClusterOptions, loadNet func(runfolder.Checkpoint, *config.Config, string, torch.Device) (*nets.Net, error)) (*ClusterSummary, error) {
	ck, _, cfg, err := runfolder.OpenCheckpoint(o.Checkpoint)
	if err != nil {
		return nil, err
	}
	if cfg.Recipe != "pix2pixhd" {
		return nil, fmt.Errorf("gogan features: checkpoint %s is a %s run; features are pix2pixHD's (model.instance_feat or model.label_feat)", ck.Dir, cfg.Recipe)
	}
	f := newFeatures(cfg)
	if f == nil {
		return nil, fmt.Errorf("gogan features: checkpoint %s trained without a feature encoder (model.instance_feat and model.label_feat are false)", ck.Dir)
	}
	if o.NClusters < 1 {
		return nil, fmt.Errorf("gogan features: --n-clusters %d: must be at least 1", o.NClusters)
	}
	out := o.Out
	if out == "" {
		// RUN/ for RUN/checkpoints/step-N; beside a checkpoint folder kept
		// elsewhere
		dir, ok := runfolder.RunOf(ck.Dir)
		if !ok {
			dir = filepath.Dir(filepath.Clean(ck.Dir))
		}
		out = filepath.Join(dir, fmt.Sprintf("features_clustered_%03d.safetensors", o.NClusters))
	}
	// before encoding every photo, not found at the end
	if err := runfolder.CheckWritable(out); err != nil {
		return nil, fmt.Errorf("gogan features: --out %w", err)
	}
	dev, err := torch.UseDevice(o.Device)
	if err != nil {
		return nil, err
	}
	dc, err := gan.DataConfig(cfg)
	if err != nil {
		return nil, err
	}
	// The photos in order, as gogan eval pix2pix reads them (preprocess
	// crop: the crop of seed 0).
	dc = dc.Whole()
	dc.Trained = ck.Dir
	dc.Root, dc.Phase = cmp.Or(o.DataRoot, dc.Root), cmp.Or(o.Phase, dc.Phase)
	ds, err := data.Open(ctx, dc, nil)
	if err != nil {
		return nil, fmt.Errorf("gogan features: data (root %s, phase %s): %w", dc.Root, dc.Phase, err)
	}
	e, err := loadNet(ck, cfg, "E", dev)
	if err != nil {
		return nil, err
	}
	defer e.Free()
	// before encoding: in train mode a BatchNorm's running statistics move
	digest, err := encoderDigest(e)
	if err != nil {
		return nil, err
	}
	e.SetTraining(!o.Eval)
	n := ds.Len()
	if o.Limit > 0 {
		n = min(n, o.Limit)
	}
	sum := &ClusterSummary{Images: n, Checkpoint: ck.Dir, Out: out}
	points := map[int][][]float32{}
	// Instance ids name their class by Cityscapes' convention; the label
	// maps say whether a dataset's ids follow it.
	labelNC := cfg.Int("data.label_nc")
	checkIDs := !f.byLabel && labelNC > 0
	var stray strayIDs
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		smp, err := ds.Sample(i, 0, 0)
		if err != nil {
			return nil, err
		}
		var feats []float32
		var ids, labels []int64
		var h, w int
		err = torch.Try(func() {
			s := torch.NewScope()
			defer s.Close()
			b := gan.BatchOf([]data.Sample{smp})
			for name, t := range b {
				b[name] = t.To(dev)
			}
			torch.NoGrad(func() {
				id := f.regionIDs(b)
				out := f.encode(e, b)
				sh := out.Shape()
				h, w = int(sh[2]), int(sh[3])
				feats, ids = out.Float32s(), id.Int64s()
				if checkIDs {
					labels = b["A"].ToDType(torch.Int64).Int64s()
				}
			})
		})
		if err != nil {
			return nil, fmt.Errorf("gogan features: %s: %w", ds.Files()[i], err)
		}
		block := h * w / 32 // the reference's unit of area: kept above half of it
		if block == 0 {
			return nil, fmt.Errorf("gogan features: %s is %dx%d after resizing: too small for regions of 1/64 of it", ds.Files()[i], w, h)
		}
		for _, r := range regionsOf(ids, h*w) {
			if checkIDs {
				if err := stray.check(f, r, labels[r.first], labelNC, ds.FilesInst()[i]); err != nil {
					return nil, err
				}
			}
			sum.Regions++
			if float64(r.pixels)/float64(block) <= 0.5 {
				continue
			}
			sum.Kept++
			v := make([]float32, f.num)
			for k := range v {
				v[k] = feats[k*h*w+r.first]
			}
			c := f.regionClass(int(r.id))
			points[c] = append(points[c], v)
		}
	}
	stray.warn()
	cl := &clusters{f: f, centres: map[int][][]float32{}}
	for c, ps := range points {
		cl.centres[c] = kmeans(ps, min(len(ps), o.NClusters), o.Seed)
		sum.Clustered += len(cl.centres[c])
	}
	sum.Classes = len(cl.centres)
	if sum.Classes == 0 {
		return nil, fmt.Errorf("gogan features: no region of the %d images covers more than 1/64 of its image: nothing to cluster", n)
	}
	return sum, cl.save(sum.Out, ck, o.NClusters, digest)
}

// strayIDs counts instance regions whose class by Cityscapes' convention
// is not the label under them.
type strayIDs struct {
	n                 int
	file              string
	id, class, labels int64
}

// check refuses an instance id whose class (id below 1000, else id/1000)
// is not a class of the run, where encode_features.py fails (a KeyError),
// and counts those of another class than their label map's, which the
// reference clusters with that class's without a word.
func (s *strayIDs) check(f *features, r region, label int64, labelNC int, file string) error {
	c := int64(f.regionClass(int(r.id)))
	if c >= int64(labelNC) {
		return fmt.Errorf("gogan features: %s: instance id %d gives class %d (pix2pixHD's and Cityscapes' convention: an id below 1000 is its class, above it class*1000 + k), but data.label_nc is %d; its label map has class %d there: number the instances of class c as c*1000 + k (and give other pixels their class id), or train with model.label_feat instead of model.instance_feat",
			file, r.id, c, labelNC, label)
	}
	if c != label {
		if s.n == 0 {
			s.file, s.id, s.class, s.labels = file, r.id, c, label
		}
		s.n++
	}
	return nil
}

// warn says how many regions were clustered under another class than their label.
func (s *strayIDs) warn() {
	if s.n > 0 {
		slog.Warn(fmt.Sprintf("gogan features: %d instance regions lie on another class than their id gives (pix2pixHD's and Cityscapes' convention: an id below 1000 is its class, above it class*1000 + k); their features are clustered, and drawn at translate time, under the id's class: number the instances of class c as c*1000 + k (other pixels: their class id), or train with model.label_feat", s.n),
			"first", s.file, "id", s.id, "id_class", s.class, "label", s.labels)
	}
}

// region is one id's pixels in a sample: how many, and the first (its
// pooled features are the same at every pixel).
type region struct {
	id            int64
	pixels, first int
}

// regionsOf lists the regions of one sample's ids, by id.
func regionsOf(ids []int64, n int) []region {
	at := map[int64]int{}
	var rs []region
	for p, id := range ids[:n] {
		k, ok := at[id]
		if !ok {
			k = len(rs)
			at[id] = k
			rs = append(rs, region{id: id, first: p})
		}
		rs[k].pixels++
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].id < rs[j].id })
	return rs
}

// save writes the centres atomically: "class.<c>" [k, feat_num] each.
func (cl *clusters) save(path string, ck runfolder.Checkpoint, nClusters int, encoder string) error {
	var ts []torch.Named
	classes := make([]int, 0, len(cl.centres))
	for c := range cl.centres {
		classes = append(classes, c)
	}
	slices.Sort(classes)
	for _, c := range classes {
		cs := cl.centres[c]
		flat := make([]float32, 0, len(cs)*cl.f.num)
		for _, v := range cs {
			flat = append(flat, v...)
		}
		ts = append(ts, torch.Named{Name: fmt.Sprintf("class.%d", c), Tensor: torch.FromFloat32(flat, int64(len(cs)), int64(cl.f.num))})
	}
	defer torch.FreeNamed(ts)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil { // as eval classifier --out makes its folders
		return fmt.Errorf("gogan features: --out: %w", err)
	}
	// the temps of saves of path cut short (a SIGKILL) in a folder that
	// is no run's, which a resume would clean
	runfolder.LogRemovedTemps(runfolder.RemoveStaleTempsOf([]string{path}, runfolder.ProcessStart))
	meta := map[string]string{"format": clustersFormat, "feat_num": strconv.Itoa(cl.f.num), "by": cl.f.kind(),
		"n_clusters": strconv.Itoa(nClusters), "checkpoint": ck.Dir, "step": strconv.Itoa(ck.Step), "encoder": encoder}
	return runfolder.AtomicWriteFile(path, func(w io.Writer) error { return torch.WriteSafetensors(w, ts, meta) })
}

// encoderDigest fingerprints an encoder as loaded: SHA-256 over its state
// dict, names and values, in name order. A clusters file records the one
// its features came from.
func encoderDigest(e *nets.Net) (string, error) {
	sd := e.StateDict()
	slices.SortFunc(sd, func(a, b torch.Named) int { return cmp.Compare(a.Name, b.Name) })
	h := sha256.New()
	err := torch.Try(func() {
		for _, nt := range sd {
			h.Write([]byte(nt.Name))
			if nt.Tensor.DType() == torch.Float32 {
				binary.Write(h, binary.LittleEndian, nt.Tensor.Float32s())
			} else {
				binary.Write(h, binary.LittleEndian, nt.Tensor.Int64s())
			}
		}
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

// loadClusters reads a file ClusterFeatures wrote, for a run whose
// features f are, to translate with the encoder e of checkpoint ck: clusters
// of another encoder's features (another run's, or an earlier checkpoint's)
// are used with a warning.
func loadClusters(path string, f *features, e *nets.Net, ck runfolder.Checkpoint) (*clusters, error) {
	if isNPY(path) {
		return nil, fmt.Errorf("%s is a NumPy file, as pix2pixHD's encode_features.py writes its features_clustered_010.npy (a pickled dict gogan does not read): cluster this run's features with gogan features --checkpoint %s, which writes the file --features takes", path, ck.Dir)
	}
	ts, meta, err := torch.LoadSafetensors(path)
	if err != nil {
		return nil, err
	}
	defer torch.FreeNamed(ts)
	if meta["format"] != clustersFormat {
		return nil, fmt.Errorf("%s is not a file of clustered features (gogan features writes them)", path)
	}
	if meta["by"] != f.kind() || meta["feat_num"] != strconv.Itoa(f.num) {
		return nil, fmt.Errorf("%s holds %s features of %s channels, but this run's are %s features of %d (model.feat_num): cluster this run's with gogan features",
			path, meta["by"], meta["feat_num"], f.kind(), f.num)
	}
	digest, err := encoderDigest(e)
	if err != nil {
		return nil, err
	}
	if meta["encoder"] != digest {
		slog.Warn("the features were clustered from another encoder than this checkpoint's: its regions get features its generator did not learn from; to match, run gogan features --checkpoint "+ck.Dir,
			"features", path, "clustered_from", meta["checkpoint"], "step", meta["step"], "checkpoint", ck.Dir, "checkpoint_step", ck.Step)
	}
	cl := &clusters{f: f, centres: map[int][][]float32{}}
	for _, nt := range ts {
		c, err := strconv.Atoi(strings.TrimPrefix(nt.Name, "class."))
		s := nt.Tensor.Shape()
		if err != nil || len(s) != 2 || s[1] != int64(f.num) || s[0] < 1 {
			return nil, fmt.Errorf("%s: tensor %s %v: want class.<id> of [k %d]", path, nt.Name, s, f.num)
		}
		if top := f.classes(); c < 0 || c >= top {
			return nil, fmt.Errorf("%s: tensor %s: class %d is not one of this run's, 0..%d", path, nt.Name, c, top-1)
		}
		v := nt.Tensor.Float32s()
		for i, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("%s: tensor %s: centre %d holds %v: cluster the features again with gogan features", path, nt.Name, int64(i)/s[1], x)
			}
		}
		for k := range s[0] {
			cl.centres[c] = append(cl.centres[c], v[k*s[1]:(k+1)*s[1]])
		}
	}
	return cl, nil
}

// clusterSampler is sample_features: for each region of a sample, in id
// order, the centre of a random cluster of its class (zeros for a class
// without clusters, where the reference leaves memory unset: those
// classes are warned of, each once).
type clusterSampler struct {
	cl     *clusters
	rng    *rand.Rand
	warned map[int]bool // classes without clusters warned of
}

func (s *clusterSampler) Sample(b gan.Batch) *torch.Tensor {
	f := s.cl.f
	ids := f.regionIDs(b)
	sh := ids.Shape()
	n, hw := int(sh[0]), int(sh[2]*sh[3])
	host := ids.Int64s()
	out := make([]float32, n*f.num*hw)
	var missing []int // classes without clusters, not warned of before
	for i := range n {
		px := host[i*hw : (i+1)*hw]
		drawn := map[int64][]float32{} // a region's centre; nil: its class has none
		for _, r := range regionsOf(px, hw) {
			c := f.regionClass(int(r.id))
			if cs := s.cl.centres[c]; len(cs) > 0 {
				drawn[r.id] = cs[s.rng.IntN(len(cs))]
			} else if !s.warned[c] {
				if s.warned == nil {
					s.warned = map[int]bool{}
				}
				s.warned[c] = true
				missing = append(missing, c)
			}
		}
		for p, id := range px {
			for k, v := range drawn[id] {
				out[(i*f.num+k)*hw+p] = v
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		slog.Warn("the features file has no clusters for these classes (no region of them in the photos gogan features encoded was larger than 1/64 of its image): their regions get zero features; to give them features, translate with --photos, or cluster photos that hold them (gogan features --data-root)",
			"classes", missing)
	}
	return torch.FromFloat32(out, int64(n), int64(f.num), sh[2], sh[3]).To(ids.Device())
}

// kmeans is Lloyd's k-means with k-means++ seeding, the best of 10 seeded
// starts by inertia (scikit-learn's KMeans as encode_features.py calls it,
// with its tolerance: centres moving less than 1e-4 of the data's mean
// variance stop a start).
func kmeans(points [][]float32, k int, seed uint64) [][]float32 {
	dim := len(points[0])
	var variance float64
	for d := range dim {
		var m, s float64
		for _, p := range points {
			m += float64(p[d])
		}
		m /= float64(len(points))
		for _, p := range points {
			s += (float64(p[d]) - m) * (float64(p[d]) - m)
		}
		variance += s / float64(len(points))
	}
	tol := 1e-4 * variance / float64(dim)
	dist := func(p []float32, c []float64) float64 {
		var s float64
		for d := range dim {
			x := float64(p[d]) - c[d]
			s += x * x
		}
		return s
	}
	var best [][]float64
	bestInertia := math.Inf(1)
	rng := rand.New(rand.NewPCG(seed, 0x6b6d65616e73))
	for range 10 {
		// k-means++: each next centre drawn in proportion to the squared
		// distance to the nearest centre so far.
		cs := [][]float64{toF64(points[rng.IntN(len(points))])}
		d2 := make([]float64, len(points))
		for len(cs) < k {
			var total float64
			for i, p := range points {
				d2[i] = math.Inf(1)
				for _, c := range cs {
					d2[i] = min(d2[i], dist(p, c))
				}
				total += d2[i]
			}
			next := rng.IntN(len(points))
			if total > 0 {
				r := rng.Float64() * total
				for i := range points {
					if r -= d2[i]; r <= 0 {
						next = i
						break
					}
				}
			}
			cs = append(cs, toF64(points[next]))
		}
		assign := make([]int, len(points))
		var inertia float64
		for range 300 {
			inertia = 0
			for i, p := range points {
				bi, bd := 0, math.Inf(1)
				for j, c := range cs {
					if d := dist(p, c); d < bd {
						bi, bd = j, d
					}
				}
				assign[i] = bi
				inertia += bd
			}
			sums, counts := make([][]float64, k), make([]int, k)
			for j := range sums {
				sums[j] = make([]float64, dim)
			}
			for i, p := range points {
				counts[assign[i]]++
				for d := range dim {
					sums[assign[i]][d] += float64(p[d])
				}
			}
			var shift float64
			for j := range cs {
				if counts[j] == 0 {
					continue // an empty cluster keeps its centre (k-means++ starts leave none unless points repeat)
				}
				var s float64
				for d := range dim {
					m := sums[j][d] / float64(counts[j])
					s += (m - cs[j][d]) * (m - cs[j][d])
					cs[j][d] = m
				}
				shift += s
			}
			if shift <= tol {
				break
			}
		}
		if inertia < bestInertia {
			best, bestInertia = cs, inertia
		}
	}
	out := make([][]float32, len(best))
	for j, c := range best {
		out[j] = make([]float32, dim)
		for d := range dim {
			out[j][d] = float32(c[d])
		}
	}
	return out
}

func toF64(p []float32) []float64 {
	out := make([]float64, len(p))
	for i, v := range p {
		out[i] = float64(v)
	}
	return out
}

// isNPY says whether path begins with NumPy's .npy magic.
func isNPY(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 6)
	_, err = io.ReadFull(f, magic)
	return err == nil && string(magic) == "\x93NUMPY"
}
