package trainer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/dist"
	"gogan/gan"
	"gogan/runfolder"
)

// Data parallelism (gogan/dist): every rank builds the same recipe from the
// same seed; rank 0 alone reads and writes the run folder. It hands the
// others what it started from through the rendezvous store (the
// checkpoint's state.json) and its tensors by broadcast; each step averages
// the gradients (gan.Precision.DataParallel) and then the losses and the
// stop and checkpoint decisions, so every rank takes the same path through
// the loop.

// ranks is the number of processes training the run.
func (s *session) ranks() int { return s.job.Size() }

// rankDevice is the CUDA device of the job's local rank (torchrun gives
// each process of a machine its own GPU).
func rankDevice(dev torch.Device, job *dist.Job) (torch.Device, error) {
	if !dev.IsCUDA() || job.LocalWorld <= 1 {
		return dev, nil
	}
	if n := torch.CUDADeviceCount(); job.LocalRank >= n {
		return dev, fmt.Errorf("local rank %d of %d needs its own GPU, but this machine has %d CUDA device(s): start at most %d processes per machine", job.LocalRank, job.LocalWorld, n, n)
	}
	return torch.CUDADevice(job.LocalRank), nil
}

// startRecord is what rank 0 tells the others before the first step.
type startRecord struct {
	Err   string                     `json:"err,omitempty"`   // rank 0 could not start
	State *runfolder.CheckpointState `json:"state,omitempty"` // the checkpoint it resumed from
	// Lost are the fixed tensors the checkpoint could not fill (gan.FixedLoss).
	Lost []string `json:"lost,omitempty"`
	// What every rank must share with rank 0: the config's values (but
	// for the keys of one machine), the number of samples and the data's
	// file names under data.root.
	Config  map[string]string `json:"config,omitempty"`
	Samples int               `json:"samples"`
	Files   string            `json:"files,omitempty"`
}

// ownKey: these keys may differ from rank to rank: where a machine keeps
// its data, weights and outputs (paths: the files are compared, only rank
// 0 reads them, or their weights are rank 0's: gan.LossWeights), how it
// loads and stages batches, its threads, devices and timeouts, what it
// logs. None changes what is trained.
func ownKey(name string) bool {
	switch name {
	case "out", "device", "threads", "data.root", "data.workers", "data.prefetch", "data.in_memory", "data.on_device",
		"model.vgg_weights", "model.load_pretrain", "train.dist_timeout", "cuda.cudnn_benchmark":
		return true
	}
	return strings.HasPrefix(name, "logging.")
}

// shared is what this rank has of what the ranks must share.
func (s *session) shared() (cfg map[string]string, samples int, files string) {
	cfg = map[string]string{}
	for _, k := range config.Schema() {
		if ownKey(k.Name) {
			continue
		}
		if v, err := s.cfg.Get(k.Name); err == nil {
			cfg[k.Name] = fmt.Sprint(v)
		}
	}
	h := sha256.New()
	for _, list := range [][]string{s.ds.Files(), s.ds.FilesB(), s.ds.FilesInst()} {
		for _, f := range list {
			if rel, err := filepath.Rel(s.cfg.Data.Root, f); err == nil {
				f = rel
			}
			fmt.Fprintln(h, f)
		}
		fmt.Fprintln(h) // a list's end
	}
	return cfg, s.ds.Len(), hex.EncodeToString(h.Sum(nil))
}

// sameAsRankZero refuses a rank whose config or data differ from rank 0's:
// the ranks would train on other batches or wait for ever in collectives
// of other sizes.
func (s *session) sameAsRankZero(rec startRecord) error {
	cfg, samples, files := s.shared()
	var diff []string
	for _, k := range config.Schema() {
		if a, b := rec.Config[k.Name], cfg[k.Name]; a != b {
			diff = append(diff, fmt.Sprintf("%s %s (rank 0: %s)", k.Name, b, a))
		}
	}
	if len(diff) > 0 {
		return fmt.Errorf("rank %d's config differs from rank 0's: %s; every rank trains the same run: give every rank the same config file and --set values (only paths, devices, threads, the loader's and logging settings may differ)",
			s.job.Rank, strings.Join(diff, ", "))
	}
	if samples != rec.Samples || files != rec.Files {
		return fmt.Errorf("rank %d's data differ from rank 0's: %d samples under data.root %s, rank 0 has %d (or other file names): every rank needs the same copy of the data",
			s.job.Rank, samples, s.cfg.Data.Root, rec.Samples)
	}
	return nil
}

const startKey = "start"

// publishStart tells the other ranks how rank 0 started (or why it could not).
func (s *session) publishStart(st *runfolder.CheckpointState, startErr error) error {
	rec := startRecord{State: st, Lost: s.lostFixed}
	if startErr != nil {
		rec.Err = startErr.Error()
	} else {
		rec.Config, rec.Samples, rec.Files = s.shared()
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := torch.StoreSet(startKey, b); err != nil {
		return fmt.Errorf("rank 0: telling the other ranks how the run starts: %w", err)
	}
	if startErr != nil {
		// rank 0 serves the store: stay until the others have read why
		// (or could not start either: they will not read it)
		for r, deadline := 1, time.Now().Add(10*time.Second); r < s.ranks() && time.Now().Before(deadline); {
			if ok, err := torch.StoreHas(fmt.Sprintf("took-start/%d", r)); err != nil || ok || s.job.CouldNotStart(r) {
				r++
				continue
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// takeStart waits for rank 0's start and applies its checkpoint's state.
func (s *session) takeStart() error {
	b, err := torch.StoreGet(startKey)
	if err != nil {
		return &dist.PeerError{Rank: 0, Err: fmt.Errorf("rank %d: rank 0 stopped before the run started (its error says why): %w", s.job.Rank, err)}
	}
	if err := torch.StoreSet(fmt.Sprintf("took-start/%d", s.job.Rank), nil); err != nil {
		return fmt.Errorf("rank %d: %w", s.job.Rank, err)
	}
	var rec startRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return fmt.Errorf("rank %d: rank 0's start record: %w", s.job.Rank, err)
	}
	if rec.Err != "" {
		return &dist.PeerError{Rank: 0, Err: fmt.Errorf("rank %d: rank 0 could not start the run: %s", s.job.Rank, rec.Err)}
	}
	if err := s.sameAsRankZero(rec); err != nil {
		return err
	}
	if rec.State == nil {
		return nil
	}
	where := fmt.Sprintf("rank 0's checkpoint at step %d", rec.State.Step)
	s.lostFixed = rec.Lost
	ls, err := s.resumeRecipe(where, rec.State)
	if err != nil {
		return err
	}
	if err := s.applyState(where, rec.State, ls); err != nil {
		return err
	}
	s.ckpt, s.resumed = "(on rank 0)", true
	return nil
}

// joinRanks makes every rank start from rank 0's tensors (weights, buffers,
// optimizer moments, fixed inputs), turns on the gradient averaging and the
// global batch's dropout masks and, with train.sync_bn, SyncBatchNorm.
func (s *session) joinRanks() error {
	err := torch.Try(func() {
		var ts []*torch.Tensor
		for _, n := range s.rec.Nets() {
			for _, nt := range n.Net.StateDict() {
				ts = append(ts, nt.Tensor)
			}
		}
		for _, o := range s.rec.Optimizers() {
			o.Adam.State("") // allocate the moments if no step ran yet
			ts = append(ts, o.Adam.ExpAvg...)
			ts = append(ts, o.Adam.ExpAvgSq...)
		}
		perRank := map[string]bool{}
		for _, nt := range s.rankTensors() {
			perRank[nt.Name] = true
		}
		for _, f := range s.fixed() {
			if !perRank[f.Name] {
				ts = append(ts, f.Tensor)
			}
		}
		if lw, ok := s.rec.(gan.LossWeights); ok {
			ts = append(ts, lw.LossWeights()...)
		}
		torch.Broadcast(ts, 0)
		sc := torch.NewScope()
		defer sc.Close()
		s.scatterRankState()
	})
	if err != nil {
		return fmt.Errorf("rank %d: taking rank 0's weights: %w", s.job.Rank, err)
	}
	s.prec.DataParallel = true
	s.prec.Overlap = s.cfg.Train.DistOverlap
	s.prec.BucketBytes = s.cfg.Train.DistBucketBytes()
	for _, n := range s.rec.Nets() {
		n.Net.DropoutOverRanks(s.job.Rank, s.ranks())
	}
	if n := s.syncBN(true); n > 0 {
		if s.lead {
			slog.Info("train.sync_bn: BatchNorm layers normalise with the global batch's statistics", "layers", n, "ranks", s.ranks())
		}
	}
	if s.lead {
		slog.Info("data parallelism", "ranks", s.ranks(), "backend", s.job.Backend, "batch per rank", s.cfg.Data.BatchSize,
			"global batch", s.cfg.Data.BatchSize*s.ranks())
	}
	return nil
}

// syncBN turns SyncBatchNorm on (train.sync_bn with several ranks) or off
// (rank 0's sample grids, drawn by it alone) and returns the layers
// converted.
func (s *session) syncBN(on bool) int {
	if !s.cfg.Train.SyncBN || s.ranks() < 2 {
		return 0
	}
	ranks, n := 1, 0
	if on {
		ranks = s.ranks()
	}
	for _, net := range s.rec.Nets() {
		n += net.Net.SyncBatchNorm(ranks)
	}
	return n
}

// syncBuffers gives every rank rank 0's buffers (BatchNorm's running
// statistics, which each rank updates from its own samples without
// train.sync_bn): before a sample grid and a checkpoint.
func (s *session) syncBuffers() error {
	if s.job == nil {
		return nil
	}
	return torch.Try(func() {
		var ts []*torch.Tensor
		for _, n := range s.rec.Nets() {
			for _, nt := range n.Net.StateDict() {
				if !n.Net.IsParameter(nt.Name) {
					ts = append(ts, nt.Tensor)
				}
			}
		}
		if len(ts) > 0 {
			torch.Broadcast(ts, 0)
		}
	})
}

// agree averages a step's losses (device tensor out, one per loss name)
// over the ranks and ORs the flags: each rank's stop request, rank 0's
// checkpoint-by-time. One small allreduce per step.
func (s *session) agree(out *torch.Tensor, flags []bool) *torch.Tensor {
	f := make([]float32, len(flags))
	for i, on := range flags {
		if on {
			f[i] = 1
		}
	}
	all := torch.Cat([]*torch.Tensor{out.DivScalar(float64(s.ranks())), torch.FromFloat32(f, int64(len(f))).To(out.Device())}, 0)
	torch.AllReduce([]*torch.Tensor{all}, false)
	return all
}

// logCommunication tells (rank 0) how much of a step went to talking to
// the other ranks: averaging gradients and agreeing on losses and stops.
func (s *session) logCommunication() {
	if s.job == nil || !s.lead || s.steps == 0 {
		return
	}
	per := func(d time.Duration) string {
		return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000/float64(s.steps))
	}
	comm := s.prec.ReduceTime + s.agreeT
	// allreduce_grads_ms is what the step waited for after backward: with
	// the gradient reducers, the buckets sent during backward are hidden.
	var early, sent int64
	var after []string
	for _, o := range s.rec.Optimizers() {
		if o.Adam.Reducer == nil {
			continue
		}
		e, n, stopped := o.Adam.Reducer.Stats()
		early, sent = early+e, sent+n
		if stopped {
			after = append(after, o.Name)
		}
	}
	slog.Info("data parallelism: communication", "ranks", s.ranks(), "steps", s.steps, "step_ms", per(s.stepT),
		"allreduce_grads_ms", per(s.prec.ReduceTime), "agree_ms", per(s.agreeT),
		"share", fmt.Sprintf("%.1f%%", 100*float64(comm)/float64(max(s.stepT, 1))),
		"buckets_during_backward", fmt.Sprintf("%d/%d", early, sent), "reduced_after_backward", strings.Join(after, ","))
}

// rankCountDiffers lists what of this run does not go on as one
// uninterrupted job would when a checkpoint written by was ranks (wasSyncBN:
// with train.sync_bn) resumes on another number: with the same global
// batch (sameGlobal), what each rank keeps of its own; with another, also
// what the new batches change.
func (s *session) rankCountDiffers(sameGlobal bool, was int, wasSyncBN bool) []string {
	bn, dropout := false, false
	for _, n := range s.rec.Nets() {
		bn, dropout = bn || n.Net.HasBatchNorm(), dropout || n.Net.HasDropout()
	}
	var d []string
	if !sameGlobal {
		d = append(d, "the samples of each step")
	}
	if bn {
		if b := batchNormDiffers(sameGlobal, was, wasSyncBN, s.ranks(), s.cfg.Train.SyncBN); b != "" {
			d = append(d, b)
		}
	}
	if rs, ok := s.rec.(gan.RankState); ok {
		var groups []string // pool.fake_A, pool.fake_A_sizes, ...: pool.*
		for _, t := range rs.RankTensors() {
			g, _, _ := strings.Cut(t.Name, ".")
			if g += ".*"; !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
		if len(groups) > 0 {
			d = append(d, fmt.Sprintf("the tensors each rank keeps of its own (%s in the checkpoint)", strings.Join(groups, ", ")))
		}
	}
	if _, ok := s.rec.(gan.StepDrawer); ok && !sameGlobal {
		d = append(d, "the step's random draws")
	}
	if dropout && !sameGlobal {
		d = append(d, "dropout's masks")
	}
	return d
}

// batchNormDiffers says how BatchNorm's statistics differ between a job of
// was ranks and one of now (another number), each with or without
// train.sync_bn, or "" where they do not: one rank, or SyncBatchNorm,
// normalises over the whole global batch; ranks without it over their own
// shares, which another number of ranks cuts otherwise.
func batchNormDiffers(sameGlobal bool, was int, wasSyncBN bool, now int, nowSyncBN bool) string {
	wasWhole, nowWhole := was == 1 || wasSyncBN, now == 1 || nowSyncBN
	switch {
	case !sameGlobal:
		return "BatchNorm's batch statistics"
	case !nowWhole:
		return "BatchNorm without train.sync_bn (each rank normalises its own share)"
	case !wasWhole:
		return fmt.Sprintf("BatchNorm, which the checkpoint's %d ranks ran without train.sync_bn (each normalising its own share) and this job runs over the whole global batch", was)
	}
	return ""
}

// andList says a, b and c.
func andList(items []string) string { return wordList(items, "and") }

// wordList joins words as a sentence lists them: a, b or c (conj "or").
func wordList(items []string, conj string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + conj + " " + items[len(items)-1]
}

// rankTensors are the recipe's tensors that differ from rank to rank
// (gan.RankState), in a job of several ranks.
func (s *session) rankTensors() []torch.Named {
	if rs, ok := s.rec.(gan.RankState); ok && s.ranks() > 1 {
		return rs.RankTensors()
	}
	return nil
}

// rankName is the checkpoint name of rank r's copy of a per-rank tensor
// (rank 0's keeps the plain name).
func rankName(r int, name string) string { return fmt.Sprintf("rank%d.%s", r, name) }

// gatherRankState hands rank 0 every other rank's per-rank tensors for a
// checkpoint, named rankName; every rank calls it. The copies belong to
// the current scope.
func (s *session) gatherRankState() []torch.Named {
	mine := s.rankTensors()
	var out []torch.Named
	for r := 1; r < s.ranks() && len(mine) > 0; r++ {
		tmp := make([]*torch.Tensor, len(mine))
		for i, nt := range mine {
			tmp[i] = nt.Tensor.ZerosLike()
			if s.job.Rank == r {
				torch.NoGrad(func() { tmp[i].CopyFrom(nt.Tensor) })
			}
		}
		torch.Broadcast(tmp, r)
		if s.lead {
			for i, nt := range mine {
				out = append(out, torch.Named{Name: rankName(r, nt.Name), Tensor: tmp[i]})
			}
		}
	}
	return out
}

// scatterRankState gives every rank its own per-rank tensors from the
// checkpoint rank 0 resumed from (s.rankSaved); one the checkpoint lacks
// (written by fewer ranks) is rank 0's, said in a warning unless it lacks
// rank 0's too (an older gogan's, without CycleGAN's pool sizes: what the
// recipe makes of that holds for every rank).
func (s *session) scatterRankState() {
	mine := s.rankTensors()
	for r := 1; r < s.ranks() && len(mine) > 0; r++ {
		tmp := make([]*torch.Tensor, len(mine))
		for i, nt := range mine {
			tmp[i] = nt.Tensor.ZerosLike()
			if !s.lead {
				continue
			}
			t, ok := s.rankSaved[rankName(r, nt.Name)]
			switch {
			case ok && sameShape(t, nt.Tensor):
				torch.NoGrad(func() { tmp[i].CopyFrom(t.To(nt.Tensor.Device())) })
			case ok && otherCount(t.Shape(), nt.Tensor.Shape()): // as rank 0's own: its first ones
				copyLeading(tmp[i], t)
			default:
				// (not where rank 0's own did not fit either: every rank's
				// pool starts empty, and says so)
				if s.resumed && (ok || s.ownSaved[nt.Name]) && !slices.Contains(s.lostFixed, nt.Name) {
					why := "has no copy of this tensor for this rank"
					if ok {
						why = "holds this rank's copy in another shape"
					}
					slog.Warn("resume: the checkpoint "+why+"; it starts from rank 0's", "tensor", nt.Name, "rank", r)
				}
				torch.NoGrad(func() { tmp[i].CopyFrom(nt.Tensor) })
			}
		}
		torch.Broadcast(tmp, 0)
		if s.job.Rank == r {
			torch.NoGrad(func() {
				for i, nt := range mine {
					nt.Tensor.CopyFrom(tmp[i])
				}
			})
		}
	}
	for _, t := range s.rankSaved {
		t.Free()
	}
	s.rankSaved, s.ownSaved = nil, nil
}
