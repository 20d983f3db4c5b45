package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gogan/cgo/torchtest"
	"gogan/config"
	"gogan/runfolder"
)

// tbEvents is what scripts/tfevents_read.py (an independent reader: its own
// TFRecord framing and CRC32C checks, protoc decoding against TensorBoard's
// .proto files) reads from an events file.
type tbEvents struct {
	Records     int  `json:"records"`
	PartialTail bool `json:"partial_tail"`
	Events      []struct {
		Step        int64  `json:"step"`
		FileVersion string `json:"file_version"`
		SessionLog  string `json:"session_log"`
		Values      []struct {
			Tag         string   `json:"tag"`
			SimpleValue *float64 `json:"simple_value"`
			Image       *struct {
				Height, Width int
			} `json:"image"`
			Text *string `json:"text"`
		} `json:"values"`
	} `json:"events"`
}

func readEvents(t *testing.T, path string) tbEvents {
	t.Helper()
	var ev tbEvents
	runReader(t, &ev, path)
	return ev
}

// tbPlotted is what scripts/tfevents_read.py --run says TensorBoard's two
// loaders plot from a run's event files: each tag's [step, value] points.
type tbPlotted struct {
	Python map[string][][2]*float64 `json:"python"`
	Rust   map[string][][2]*float64 `json:"rust"`
}

func readPlotted(t *testing.T, dir string) tbPlotted {
	t.Helper()
	var p tbPlotted
	runReader(t, &p, "--run", dir)
	return p
}

// runReader runs scripts/tfevents_read.py with args and decodes its JSON
// into v.
func runReader(t *testing.T, v any, args ...string) {
	t.Helper()
	out, err := exec.Command(torchtest.Python(t), append([]string{"../scripts/tfevents_read.py"}, args...)...).Output()
	if err != nil {
		t.Fatalf("tfevents_read.py %v: %v\n%s", args, err, out)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("tfevents_read.py %v printed %q: %v", args, out, err)
	}
}

// smallRun is a tiny DCGAN on an image folder: 4 steps an epoch.
func smallRun(t testing.TB, out string, sets ...string) *config.Config {
	t.Helper()
	root := writeImageFolder(t, 16, 40)
	base := []string{"recipe=dcgan", "data.dataset=folder", "data.root=" + root, "data.image_size=32", "model.ngf=8",
		"model.ndf=8", "data.batch_size=4", "data.drop_last=true", "data.workers=1", "train.epochs=3", "train.log_every=1",
		"train.sample_every=2", "device=cpu", "threads=2", "out=" + out}
	cfg, err := config.LoadConfig("", append(base, sets...))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestRunFolderMovesAndTensorBoard: a run stopped at step 4, moved to
// another folder (another machine's disk) and resumed there continues in
// its new place; its status says how it stands; each session wrote its own
// TensorBoard events file, the second's steps continuing the first's.
func TestRunFolderMovesAndTensorBoard(t *testing.T) {
	ctx := context.Background()
	first := filepath.Join(t.TempDir(), "run")
	if _, err := Train(ctx, smallRun(t, first, "train.max_steps=4"), RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	st, err := runfolder.RunDir{Path: first}.ReadStatus()
	if err != nil || st.State != runfolder.StateFinished || st.Step != 4 || st.Total != 4 || st.Recipe != "dcgan" || st.PID != os.Getpid() {
		t.Fatalf("status after 4 steps: %+v, %v", st, err)
	}
	moved := filepath.Join(t.TempDir(), "elsewhere", "run")
	os.MkdirAll(filepath.Dir(moved), 0o755)
	if err := os.Rename(first, moved); err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(ctx, moved, []string{"train.max_steps=7"}, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatalf("resume of the moved folder: %v", err)
	}
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Errorf("resuming the moved folder wrote to its old place %s (%v)", first, err)
	}
	m, err := runfolder.ReadMetrics(filepath.Join(moved, "metrics.csv"))
	if err != nil || len(m.Rows) != 7 {
		t.Fatalf("metrics of the moved run: %v rows, %v", len(m.Rows), err)
	}
	if st, _ := (runfolder.RunDir{Path: moved}).ReadStatus(); st.State != runfolder.StateFinished || st.Step != 7 {
		t.Errorf("status after the resumed run: %+v", st)
	}

	files, _ := filepath.Glob(filepath.Join(moved, "tb", "events.out.tfevents.*"))
	if len(files) != 2 {
		t.Fatalf("event files %v: want one per session", files)
	}
	slices.Sort(files) // by start time, then name
	var steps []int64
	for i, f := range files {
		ev := readEvents(t, f)
		if ev.PartialTail || len(ev.Events) < 2 || ev.Events[0].FileVersion != "brain.Event:2" {
			t.Fatalf("%s: %+v", f, ev)
		}
		if start := ev.Events[1]; start.SessionLog != "START" || start.Step != []int64{1, 5}[i] {
			t.Errorf("%s: second event %+v, want a SessionLog START at the session's first step", f, start)
		}
		tags := map[string]int{}
		for _, e := range ev.Events {
			for _, v := range e.Values {
				tags[v.Tag]++
				switch {
				case v.SimpleValue != nil && strings.HasPrefix(v.Tag, "loss/Loss_D"):
					steps = append(steps, e.Step)
				case v.Tag == "lr/G" && (v.SimpleValue == nil || *v.SimpleValue != float64(float32(2e-4))):
					t.Errorf("%s step %d: lr/G %v", f, e.Step, v.SimpleValue)
				case v.Tag == "samples" && (v.Image == nil || v.Image.Width == 0):
					t.Errorf("%s step %d: samples image %+v", f, e.Step, v.Image)
				case v.Tag == "config" && (v.Text == nil || !strings.Contains(*v.Text, "recipe: dcgan")):
					t.Errorf("%s: config text %v", f, v.Text)
				}
			}
		}
		for _, tag := range []string{"loss/Loss_G", "loss/D_x", "lr/D", "speed/images_per_s", "samples", "config"} {
			if tags[tag] == 0 {
				t.Errorf("%s (session %d) has no %s: %v", f, i+1, tag, tags)
			}
		}
	}
	if !slices.Equal(steps, []int64{1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("loss steps over the two event files: %v, want 1..7", steps)
	}
}

// TestResumedEventsReplaceTheOldSteps: a session killed after step 6 whose
// newest checkpoint is step 4 logged steps 5 and 6, which the resumed
// session trains and logs again; TensorBoard plots each step once, the
// resumed session's, by either of its loaders.
func TestResumedEventsReplaceTheOldSteps(t *testing.T) {
	ctx := context.Background()
	run := filepath.Join(t.TempDir(), "run")
	if _, err := Train(ctx, smallRun(t, run, "train.max_steps=6"), RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	cks, err := runfolder.ListCheckpoints(run)
	if err != nil || len(cks) != 2 || cks[0].Step != 6 || cks[1].Step != 4 {
		t.Fatalf("checkpoints %+v, %v: want steps 6 and 4 (end of epoch 1)", cks, err)
	}
	os.RemoveAll(cks[0].Dir) // killed before writing it
	if _, err := Resume(ctx, run, []string{"train.max_steps=7"}, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	p := readPlotted(t, filepath.Join(run, "tb"))
	for loader, series := range map[string]map[string][][2]*float64{"python": p.Python, "rust": p.Rust} {
		for _, tag := range []string{"loss/Loss_D", "lr/G", "speed/images_per_s"} {
			var steps []float64
			for _, pt := range series[tag] {
				steps = append(steps, *pt[0])
			}
			if !slices.Equal(steps, []float64{1, 2, 3, 4, 5, 6, 7}) {
				t.Errorf("%s loader, %s: steps %v, want 1..7 once each", loader, tag, steps)
			}
		}
	}
}

// TestResumeDropsTheAbandonedStepsGrids: a run whose newest checkpoints
// are gone (moved out to go on from an older one, or a SIGKILL before
// them) resumes with a samples folder of its checkpoint's step, as
// metrics.csv keeps its rows up to it: latest.png is the grid of the
// checkpoint's weights (epoch 1's, both drawn at step 4), the grids of the
// epochs it trains again are gone, and so is real_samples.png (the batch of
// a later step) until the next grid. A run resumed where its last session
// stopped keeps its grids as they are.
func TestResumeDropsTheAbandonedStepsGrids(t *testing.T) {
	ctx := context.Background()
	read := func(run, name string) []byte {
		b, err := os.ReadFile(filepath.Join(run, "samples", name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return b
	}
	// at step 5, the resumed session's first: a grid comes at step 6
	samplesAt5 := func(run string, sets ...string) (latest, real, epoch2 []byte) {
		opt := RunOptions{Quiet: true, Writer: os.Stderr, OnStep: func(step int, _ map[string]float64) {
			if step == 5 {
				latest, real, epoch2 = read(run, "latest.png"), read(run, "real_samples.png"), read(run, "epoch-0002.png")
			}
		}}
		if _, err := Resume(ctx, run, sets, opt); err != nil {
			t.Fatal(err)
		}
		return
	}

	run := filepath.Join(t.TempDir(), "run")
	if _, err := Train(ctx, smallRun(t, run, "train.max_steps=9"), RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	cks, err := runfolder.ListCheckpoints(run)
	if err != nil || len(cks) != 3 || cks[2].Step != 4 {
		t.Fatalf("checkpoints %+v, %v: want steps 9, 8 and 4 (end of epoch 1)", cks, err)
	}
	epoch1, newest := read(run, "epoch-0001.png"), read(run, "latest.png")
	if read(run, "epoch-0002.png") == nil || read(run, "real_samples.png") == nil || bytes.Equal(epoch1, newest) {
		t.Fatal("the run to step 9 did not leave epoch 2's grid, real_samples.png and a latest.png of step 9")
	}
	os.RemoveAll(cks[0].Dir)
	os.RemoveAll(cks[1].Dir)
	latest, real, epoch2 := samplesAt5(run)
	if !bytes.Equal(latest, epoch1) {
		t.Errorf("latest.png resumed at step 4: %d bytes, want the grid of step 4 (epoch-0001.png, %d bytes); the step 9 grid's %d", len(latest), len(epoch1), len(newest))
	}
	if real != nil || epoch2 != nil {
		t.Errorf("resumed at step 4: real_samples.png (%d bytes) and epoch-0002.png (%d bytes) of later steps stay", len(real), len(epoch2))
	}

	// finished at its checkpoint (step 4): nothing is newer
	stopped := filepath.Join(t.TempDir(), "run")
	if _, err := Train(ctx, smallRun(t, stopped, "train.max_steps=4", "train.sample_every=3"), RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	was, wasReal := read(stopped, "latest.png"), read(stopped, "real_samples.png")
	if latest, real, _ := samplesAt5(stopped, "train.max_steps=6"); !bytes.Equal(latest, was) || !bytes.Equal(real, wasReal) || real == nil {
		t.Errorf("resumed where it finished: latest.png %d bytes, real_samples.png %d bytes; want them as they were (%d, %d)", len(latest), len(real), len(was), len(wasReal))
	}
}

// TestResumeAfterASecondSignalRedrawsTheGrid: a run quit by a second
// Ctrl-C leaves status.json "stopped" at its newest checkpoint's step
// (quitStatus), though it trained and drew grids after that checkpoint, as
// a SIGKILL leaves it "running" at that step. Resumed, either goes back to
// the checkpoint's grids: latest.png is the checkpoint's (epoch 1's, both
// drawn at step 4) and real_samples.png, of a later step, goes; the quit
// run's were kept as the session before left them, as for a run that
// stopped at its checkpoint. Resumed inside an epoch, the grids of the
// epochs the checkpoint completed stay.
func TestResumeAfterASecondSignalRedrawsTheGrid(t *testing.T) {
	for _, quit := range []bool{true, false} {
		run := filepath.Join(t.TempDir(), "run")
		if _, err := Train(context.Background(), smallRun(t, run, "train.max_steps=6"), RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
			t.Fatal(err)
		}
		read := func(name string) []byte {
			b, _ := os.ReadFile(filepath.Join(run, "samples", name))
			return b
		}
		epoch1, step6 := read("epoch-0001.png"), read("latest.png")
		if epoch1 == nil || read("real_samples.png") == nil || bytes.Equal(epoch1, step6) {
			t.Fatal("the run to step 6 did not leave epoch 1's grid, real_samples.png and a latest.png of step 6")
		}
		// a second Ctrl-C or a SIGKILL at step 6, before its checkpoint:
		// the status of the checkpoint at step 4, stopped or running
		if err := os.RemoveAll(runfolder.CheckpointDir(run, 6)); err != nil {
			t.Fatal(err)
		}
		s := &session{rd: runfolder.RunDir{Path: run}, step: 4}
		s.status = runfolder.Status{State: runfolder.StateRunning, Recipe: "dcgan", PID: os.Getpid()}
		s.writeStatus()
		if s.step = 6; quit {
			s.quitStatus(os.Interrupt)
		}
		if st, err := s.rd.ReadStatus(); err != nil || st.State != map[bool]string{true: runfolder.StateStopped, false: runfolder.StateRunning}[quit] || st.Step != 4 {
			t.Fatalf("quit %v: the status left: %+v, %v", quit, st, err)
		}
		var latest, real []byte
		opt := RunOptions{Quiet: true, Writer: os.Stderr, OnStep: func(step int, _ map[string]float64) {
			if step == 5 { // no grid at step 5
				latest, real = read("latest.png"), read("real_samples.png")
			}
		}}
		if _, err := Resume(context.Background(), run, nil, opt); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(latest, epoch1) || real != nil {
			t.Errorf("quit %v: resumed at step 4 after step 6: latest.png %d bytes (want epoch 1's, %d bytes; step 6's is %d), real_samples.png %d bytes (want none)",
				quit, len(latest), len(epoch1), len(step6), len(real))
		}
		if !quit {
			continue
		}
		// resumed from step 6, inside epoch 2: epoch 1's grid, of an epoch
		// the checkpoint completed, stays (nothing draws it again)
		var kept []byte
		opt.OnStep = func(step int, _ map[string]float64) { kept = read("epoch-0001.png") }
		if _, err := Resume(context.Background(), run, []string{"train.max_steps=7"}, opt); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(kept, epoch1) {
			t.Errorf("resumed inside epoch 2: epoch-0001.png %d bytes, want it kept (%d bytes)", len(kept), len(epoch1))
		}
	}
}

// TestCheckpointEveryMinutes: a wall-time interval checkpoints between the
// step and epoch checkpoints; 0 leaves only those.
func TestCheckpointEveryMinutes(t *testing.T) {
	ctx := context.Background()
	count := func(sets ...string) int {
		run := filepath.Join(t.TempDir(), "run")
		cfg := smallRun(t, run, append([]string{"train.max_steps=6", "train.keep_checkpoints=0", "logging.tensorboard=false"}, sets...)...)
		if _, err := Train(ctx, cfg, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(runfolder.RunDir{Path: run}.TensorBoardDir()); !os.IsNotExist(err) {
			t.Errorf("logging.tensorboard=false still made %s", runfolder.RunDir{Path: run}.TensorBoardDir())
		}
		cks, err := runfolder.ListCheckpoints(run)
		if err != nil {
			t.Fatal(err)
		}
		return len(cks)
	}
	// Without: the end of epoch 1 (step 4) and the end (step 6).
	if n := count(); n != 2 {
		t.Errorf("checkpoint_every_minutes=0: %d checkpoints, want 2", n)
	}
	// 0.6 ms: every step takes longer, so every step checkpoints.
	if n := count("train.checkpoint_every_minutes=0.00001"); n != 6 {
		t.Errorf("checkpoint_every_minutes=0.00001: %d checkpoints, want 6", n)
	}
}

// TestFreshRunDropsStaleEvents: a run trained into a folder left by an
// attempt killed before its first checkpoint replaces that attempt's
// metrics.csv and its TensorBoard events, which would draw the dead
// attempt's steps over the new run's; also when the new run writes no
// events (logging.tensorboard=false): left, TensorBoard would show them as
// this run's curves.
func TestFreshRunDropsStaleEvents(t *testing.T) {
	for _, tb := range []bool{true, false} {
		run := filepath.Join(t.TempDir(), "run")
		stale := filepath.Join(run, "tb", "events.out.tfevents.1700000000.deadhost")
		os.MkdirAll(filepath.Dir(stale), 0o755)
		os.WriteFile(stale, []byte("an earlier attempt's events"), 0o644)
		// the attempt's config, as a run writes it before its first step
		os.WriteFile(filepath.Join(run, "config.yaml"), []byte(config.EffectiveHeader+"recipe: dcgan\n"), 0o644)
		cfg := smallRun(t, run, "train.max_steps=2", fmt.Sprintf("logging.tensorboard=%v", tb))
		if _, err := Train(context.Background(), cfg, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(run, "tb", "events.out.tfevents.*"))
		if !tb {
			if len(files) != 0 {
				t.Errorf("event files after a fresh run with logging.tensorboard=false: %v, want none", files)
			}
			continue
		}
		if len(files) != 1 || files[0] == stale {
			t.Fatalf("event files after a fresh run: %v, want only the run's own", files)
		}
		if ev := readEvents(t, files[0]); len(ev.Events) == 0 || ev.PartialTail {
			t.Fatalf("the run's events: %+v", ev)
		}
	}
}

// TestEpochsBySteps: a run trained by steps with epochs beyond counting
// (train.epochs 2^62) stops at train.max_steps; the step total saturates
// instead of overflowing to a negative one that ended the run at step 0.
func TestEpochsBySteps(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	res, err := Train(context.Background(), smallRun(t, run, "train.max_steps=2", "train.epochs=4611686018427387904", "train.epochs_decay=4611686018427387904"),
		RunOptions{Quiet: true, Writer: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := runfolder.RunDir{Path: run}.ReadStatus()
	if res.Step != 2 || st.Total != 2 || st.State != runfolder.StateFinished {
		t.Fatalf("step %d, status %+v", res.Step, st)
	}
}

// TestBadImageMidRunSaysWhatToDo: an image that fails to decode when its
// batch comes (a large folder's open reads headers only; here the file
// goes bad after the open) stops the run naming it and what to do, and
// keeps the steps trained since the last checkpoint (4): step 5's
// checkpoint is written (the loader stands at the failed batch; before,
// step 5 was lost, and an epoch of a 20000-image folder could be). With
// the file fixed, the resumed run's losses are those of a run that never
// failed.
func TestBadImageMidRunSaysWhatToDo(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	cfg := smallRun(t, run, "data.shuffle=false", "train.checkpoint_every=2")
	good, err := os.ReadFile(filepath.Join(cfg.Data.Root, "im000.png"))
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(cfg.Data.Root, "im005x.png") // image 6: each epoch's batch 2
	os.WriteFile(bad, good, 0o644)
	opt := RunOptions{Quiet: true, Writer: os.Stderr, OnStep: func(step int, _ map[string]float64) {
		if step == 1 {
			os.WriteFile(bad, good[:len(good)-40], 0o644)
		}
	}}
	_, err = Train(context.Background(), cfg, opt)
	for _, want := range []string{bad, "fix or replace", "data.skip_invalid=true", "gogan resume " + run, "step-00000005"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a bad image at step 6: %v, want it to say %q", err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(run, "checkpoints", "step-00000005", "state.json")); err != nil {
		t.Errorf("the steps trained before the bad image were not kept: %v", err)
	}
	os.WriteFile(bad, good, 0o644)
	if _, err := Resume(context.Background(), run, nil, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatalf("resumed with the file fixed: %v", err)
	}
	straight := filepath.Join(t.TempDir(), "straight")
	if _, err := Train(context.Background(), smallRun(t, straight, "data.shuffle=false", "train.checkpoint_every=2", "data.root="+cfg.Data.Root),
		RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	sameMetrics(t, "failed at step 6, fixed and resumed vs straight", straight, run, 12, 0)
}

// TestOneSampleImagePerStep: a sample step that is also an epoch's end
// (pix2pix-facades: 400 steps an epoch, train.sample_every 400) or the
// run's last step draws the grid twice, for samples/latest.png and the
// epoch's file; TensorBoard gets it once. Twice, its Python loader lists
// each such step twice in the images dashboard.
func TestOneSampleImagePerStep(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	// 4 steps an epoch, a sample every 2: steps 4 (also epoch 1's end)
	// and 6 (also the last).
	if _, err := Train(context.Background(), smallRun(t, run, "train.max_steps=6"), RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(run, "tb", "events.out.tfevents.*"))
	if len(files) != 1 {
		t.Fatalf("event files %v", files)
	}
	var steps []int64
	for _, e := range readEvents(t, files[0]).Events {
		for _, v := range e.Values {
			if v.Tag == "samples" {
				steps = append(steps, e.Step)
			}
		}
	}
	if !slices.Equal(steps, []int64{2, 4, 6}) {
		t.Errorf("samples images at steps %v, want 2, 4, 6 once each", steps)
	}
}

// TestRealSamplesWithoutSampleEvery: a DCGAN run whose train.sample_every
// grids never come (a small folder: fewer steps than train.sample_every,
// or 0) still writes samples/real_samples.png, as main.py writes its
// real_samples.png at i = 0 of every epoch: the epoch's first batch, drawn
// with the epoch's grid. It is the batch a train.sample_every grid at that
// step shows.
func TestRealSamplesWithoutSampleEvery(t *testing.T) {
	ctx := context.Background()
	read := func(run string) []byte {
		b, err := os.ReadFile(filepath.Join(run, "samples", "real_samples.png"))
		if err != nil {
			t.Fatalf("%v", err)
		}
		return b
	}
	// 4 steps an epoch: step 5 is the second epoch's first batch
	epochs := filepath.Join(t.TempDir(), "run")
	if _, err := Train(ctx, smallRun(t, epochs, "train.epochs=2", "train.sample_every=0"), RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	// step 5's grid, the run stopped there (no later batch of its epoch
	// can stand in for it)
	every := filepath.Join(t.TempDir(), "run")
	if _, err := Train(ctx, smallRun(t, every, "train.epochs=2", "train.sample_every=5", "train.max_steps=5"), RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read(epochs), read(every)) {
		t.Errorf("real_samples.png of a run without train.sample_every grids is not the second epoch's first batch (step 5's grid)")
	}
}

// TestOutInsideALinkedClassRefused: a folder dataset's walk follows links
// (ImageFolder's os.walk(followlinks=True)), so an out inside the folder a
// class links to, at any depth, is inside the training data: refused before
// anything is made, naming the link; the run's grids would be read as
// images of that class by the next run.
func TestOutInsideALinkedClassRefused(t *testing.T) {
	root := filepath.Join(t.TempDir(), "photos")
	elsewhere, deeper := writeImageFolder(t, 4, 40), writeImageFolder(t, 4, 40)
	if err := os.MkdirAll(filepath.Join(root, "mine"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"fish": elsewhere, "mine/birds": deeper} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"fish": elsewhere, "mine/birds": deeper} {
		out := filepath.Join(target, "runs", "x")
		_, err := Train(context.Background(), smallRun(t, out, "data.root="+root, "train.max_steps=1"), RunOptions{Quiet: true, Writer: os.Stderr})
		if err == nil || !strings.Contains(err.Error(), "out "+out+" is inside "+target+", which "+filepath.Join(root, link)+" links to: its images are read as training data") {
			t.Errorf("out inside the folder %s links to: %v", link, err)
		}
		if _, err := os.Stat(filepath.Join(target, "runs")); !os.IsNotExist(err) {
			t.Errorf("the refused run made %s: %v", filepath.Join(target, "runs"), err)
		}
	}
}

// TestResumeOfAFinishedRunAddsNoEvents: resuming a run that has trained
// its steps (it says how to train on) adds no event file to the run's:
// it logs nothing, and its file held the config and a sample grid again.
// A GOGAN_OUT left exported is said to be unused (a resume goes on in its
// own folder).
func TestResumeOfAFinishedRunAddsNoEvents(t *testing.T) {
	t.Setenv("GOGAN_OUT", filepath.Join(t.TempDir(), "elsewhere"))
	logs := torchtest.CaptureLogs(t)
	ctx := context.Background()
	run := filepath.Join(t.TempDir(), "run")
	if _, err := Train(ctx, smallRun(t, run, "train.max_steps=2"), RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(ctx, run, nil, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(run, "tb", "events.out.tfevents.*")); len(files) != 1 {
		t.Errorf("event files after resuming a finished run: %v, want the run's one", files)
	}
	if !strings.Contains(logs.String(), "GOGAN_OUT is not used: a resumed run goes on in its own folder") {
		t.Errorf("resume with GOGAN_OUT set elsewhere did not say it is unused:\n%s", logs)
	}
	// The run's own folder, spelled otherwise (relative, as train was given
	// it; through a link), is not said to be unused.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, run)
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(run, link); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{rel, link} {
		t.Setenv("GOGAN_OUT", out)
		logs.Reset()
		if _, err := Resume(ctx, run, nil, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(logs.String(), "GOGAN_OUT is not used") {
			t.Errorf("resume with GOGAN_OUT=%s, the run's own folder, said it is unused:\n%s", out, logs)
		}
	}
}

// TestTrainRefusesARunWithACheckpoint: train into a folder whose run has
// written a checkpoint (one alone, as a run stopped before its first
// epoch's end leaves) is refused with the resume that goes on, and leaves
// the run as it was: a new run there would replace its config.yaml and
// metrics.csv and write over or prune its checkpoint.
func TestTrainRefusesARunWithACheckpoint(t *testing.T) {
	ctx := context.Background()
	run := filepath.Join(t.TempDir(), "run")
	if _, err := Train(ctx, smallRun(t, run, "train.max_steps=2", "train.sample_every=0"), RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	if cks, err := runfolder.ListCheckpoints(run); err != nil || len(cks) != 1 {
		t.Fatalf("checkpoints %v (%v), want one", cks, err)
	}
	files := []string{"config.yaml", "metrics.csv", "checkpoints/step-00000002/state.json"}
	was := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(run, f))
		if err != nil {
			t.Fatal(err)
		}
		was[f] = string(b)
	}
	_, err := Train(ctx, smallRun(t, run, "train.max_steps=1", "train.sample_every=0", "seed=5"), RunOptions{Quiet: true, Writer: os.Stderr})
	if err == nil || !strings.Contains(err.Error(), "already holds checkpoints (newest: step 2): continue it with `gogan resume "+run+"`") {
		t.Fatalf("train into a run with a checkpoint: %v", err)
	}
	for _, f := range files {
		if b, err := os.ReadFile(filepath.Join(run, f)); err != nil || string(b) != was[f] {
			t.Errorf("%s changed by the refused train (%v)", f, err)
		}
	}
}

// TestStopRightAfterACheckpointKeepsIt: a stop that comes right after a
// checkpoint (here train.checkpoint_every's at step 2) has nothing new to
// save: the checkpoint stays as written, not written a second time (a
// needless rewrite of a large pix2pixHD checkpoint, and the window of a
// replacement). A watcher reads the checkpoint's state.json while the
// run stops; a rewrite shows as a second saved_at.
func TestStopRightAfterACheckpointKeepsIt(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	state := filepath.Join(runfolder.CheckpointDir(run, 2), runfolder.StateFile)
	seen := map[string]bool{}
	done, watched := make(chan struct{}), make(chan struct{})
	opt := RunOptions{Quiet: true, Writer: os.Stderr, OnStep: func(step int, _ map[string]float64) {
		if step != 2 {
			return
		}
		cancel() // a stop, asked before step 2's checkpoint is written
		go func() {
			defer close(watched)
			for {
				if b, err := os.ReadFile(state); err == nil {
					seen[string(b)] = true
				}
				select {
				case <-done:
					return
				case <-time.After(100 * time.Microsecond):
				}
			}
		}()
	}}
	res, err := Train(ctx, smallRun(t, run, "train.checkpoint_every=2", "train.sample_every=0"), opt)
	close(done)
	if ctx.Err() != nil { // the watcher started
		<-watched
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Step != 2 || res.Checkpoint != runfolder.CheckpointDir(run, 2) {
		t.Fatalf("stopped at step %d with checkpoint %s, want step 2's", res.Step, res.Checkpoint)
	}
	if len(seen) != 1 {
		t.Fatalf("step 2's checkpoint was written %d times (a stop right after it rewrote it)", len(seen))
	}
}

// TestUntakeableImageMidRunKeepsSteps: with data.preprocess none each
// image keeps its size; one that changed after the open to a size the
// networks cannot take stops the run when its batch comes, naming it and
// what to do, and keeps the steps trained since the last checkpoint
// (step 7's checkpoint, the loader standing before the refused batch, so
// that the resumed run takes that image again). With the image as it
// was, the resumed run's losses are those of a run that never failed.
func TestUntakeableImageMidRunKeepsSteps(t *testing.T) {
	root := writeImageFolder(t, 8, 64) // A|B pairs of 32x64 halves
	pix2pix := func(out string) *config.Config {
		cfg, err := config.LoadConfig("", []string{"recipe=pix2pix", "data.root=" + root, "data.preprocess=none", "data.shuffle=false",
			"model.netG=resnet_6blocks", "model.ngf=4", "model.ndf=4", "data.batch_size=1", "data.workers=1", "train.epochs=2",
			"train.epochs_decay=0", "train.log_every=1", "train.sample_every=0", "train.checkpoint_every=2", "device=cpu", "threads=2",
			"out=" + out})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	run := filepath.Join(t.TempDir(), "run")
	// Epoch 1's batch 8, far ahead of what the loader has read at step 1.
	bad := filepath.Join(root, "im007.png")
	good, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	small := writeImageFolder(t, 1, 40) // 20x40 halves: D takes 24 at least
	opt := RunOptions{Quiet: true, Writer: os.Stderr, OnStep: func(step int, _ map[string]float64) {
		if step == 1 { // renamed over it: the loader reads ahead
			if err := os.Rename(filepath.Join(small, "im000.png"), bad); err != nil {
				t.Error(err)
			}
		}
	}}
	_, err = Train(context.Background(), pix2pix(run), opt)
	for _, want := range []string{"step 8: " + bad + " is 20x40", "takes at least 24x24", "gogan resume " + run, "step-00000007"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("an untakeable image at step 8: %v, want it to say %q", err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(runfolder.CheckpointDir(run, 7), runfolder.StateFile)); err != nil {
		t.Errorf("the step trained after the last checkpoint was not kept: %v", err)
	}
	os.WriteFile(bad, good, 0o644)
	if _, err := Resume(context.Background(), run, nil, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatalf("resumed with the image as it was: %v", err)
	}
	straight := filepath.Join(t.TempDir(), "straight")
	if _, err := Train(context.Background(), pix2pix(straight), RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	sameMetrics(t, "refused at step 8, image restored and resumed vs straight", straight, run, 16, 0)
}

// TestLivePageSaysStepAndEpochs: the live page's status line reads alike
// whichever rewrite made it: a sample grid's (it said "training: step 6 of
// 12") and an epoch's end (it said "training: epoch 1 of 3, step 4", without
// the steps' total, and "epoch 1" read as the epoch in progress) both say
// the step of the total and the epochs done of the total.
func TestLivePageSaysStepAndEpochs(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	status := regexp.MustCompile(`<p>(training: [^<·]*) ·`)
	seen := map[int]string{}
	opt := RunOptions{Quiet: true, Writer: os.Stderr, OnStep: func(step int, _ map[string]float64) {
		// the page as the step before left it: 4 steps an epoch, a grid every 3
		b, _ := os.ReadFile(filepath.Join(run, "index.html"))
		if m := status.FindSubmatch(b); m != nil {
			seen[step-1] = string(m[1])
		}
	}}
	if _, err := Train(context.Background(), smallRun(t, run, "train.sample_every=3"), opt); err != nil {
		t.Fatal(err)
	}
	for step, want := range map[int]string{
		3: "training: step 3 of 12, 0 of 3 epochs done",
		4: "training: step 4 of 12, 1 of 3 epochs done", // the epoch's end
		6: "training: step 6 of 12, 1 of 3 epochs done",
		8: "training: step 8 of 12, 2 of 3 epochs done",
	} {
		if seen[step] != want {
			t.Errorf("the page after step %d says %q, want %q", step, seen[step], want)
		}
	}
}
