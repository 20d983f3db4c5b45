package main

import (
	"encoding/csv"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gogan/runfolder"
)

// TestFailedRunsReportSaysSo: a run that fails in the middle (an image
// damaged after the run opened its data) leaves a report that says it
// failed and why, as status.json does, and that no longer reloads itself
// as a run in progress does.
func TestFailedRunsReportSaysSo(t *testing.T) {
	base := t.TempDir()
	data, run := filepath.Join(base, "data"), filepath.Join(base, "run")
	os.MkdirAll(data, 0o755)
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		writeTestPNG(t, filepath.Join(data, n+".png"), 40, 40)
	}
	cmd := exec.Command(goganBin, "train", "-c", "configs/dcgan-folder.yaml", "--quiet", "--set", "data.root="+data, "--set", "out="+run,
		"--set", "data.image_size=32", "--set", "model.ngf=8", "--set", "model.ndf=8", "--set", "data.batch_size=2",
		"--set", "train.epochs=1000", "--set", "train.sample_every=1", "--set", "train.log_every=1",
		"--set", "threads=1", "--set", "data.workers=0")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(run, "index.html")
	waitUntil(t, cmd, &out, "live report", func() bool {
		b, _ := os.ReadFile(page)
		return strings.Contains(string(b), "training: step")
	})
	bad := filepath.Join(data, "c.png")
	if err := os.WriteFile(bad, []byte("not a PNG"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(out.String(), bad) {
		t.Fatalf("train over a damaged image: %v, want a failure naming %s\n%s", err, bad, out.String())
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	if strings.Contains(html, `http-equiv="refresh"`) || !strings.Contains(html, "<p>failed: ") || !strings.Contains(html, bad) || !strings.Contains(html, "fix or replace") {
		t.Errorf("the report of the failed run:\n%s", html[:strings.Index(html, "<h2>")])
	}
}

// TestResumeWithOtherLosses: a resume may change the losses a run has
// (pix2pixHD's train.no_vgg_loss, reported and taken as any changed
// value); metrics.csv, a log, keeps the earlier columns and adds G_VGG,
// where the resume was refused ("existing columns ... differ").
func TestResumeWithOtherLosses(t *testing.T) {
	root := t.TempDir()
	writeHDData(t, root, 4, 40, 36)
	vgg := randomVGG19(t)
	run := filepath.Join(t.TempDir(), "run")
	mustTrain(t, smallHD(root, vgg, run, "train.max_steps=3", "train.no_vgg_loss=true")...)
	if out, err := gogan(t, "resume", run, "--quiet", "--set", "train.max_steps=5", "--set", "train.no_vgg_loss=false"); err != nil {
		t.Fatalf("resume with the VGG loss: %v\n%s", err, out)
	}
	rows := lossRows(t, run)
	if got := strings.Join(rows[0], ","); got != "step,epoch,G_GAN,G_GAN_Feat,D_real,D_fake,G_VGG,lr" || len(rows) != 6 {
		t.Fatalf("metrics.csv: %d rows, columns %s", len(rows), got)
	}
	for _, r := range rows[1:] {
		if before := r[0] <= "3"; (r[6] == "") != before {
			t.Errorf("step %s: G_VGG %q", r[0], r[6])
		}
	}
	out, err := gogan(t, "runs", run)
	if err != nil || strings.Contains(out, "NaN") || !strings.Contains(out, "G_VGG=") {
		t.Errorf("gogan runs: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(run, "index.html")); !strings.Contains(string(b), "<th>G_VGG</th>") {
		t.Errorf("the report's last row lacks G_VGG")
	}
}

// TestLogLinesSayTheEpoch: a job's progress lines name the epoch of their
// step, and each epoch's end gets a line of its own, as the references'
// logs do ("[3/25][100/469] Loss_D ...", "End of epoch 3 / 200 Time
// Taken: 12 sec"): 15 steps an epoch, lines every 5 steps.
func TestLogLinesSayTheEpoch(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	out, err := gogan(t, append([]string{"train"}, smallDCGAN(run, "train.max_steps=20", "train.log_every=5", "train.sample_every=0")...)...)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "msg=\"dcgan progress\"") || strings.Contains(l, "end of epoch") {
			lines = append(lines, l)
		}
	}
	want := []string{
		`msg="dcgan progress" epoch=1 epochs=5 step=5 total=20 `,
		`msg="dcgan progress" epoch=1 epochs=5 step=10 total=20 `,
		`msg="dcgan progress" epoch=1 epochs=5 step=15 total=20 `,
		`msg="dcgan end of epoch" epoch=1 epochs=5 step=15 time=`,
		`msg="dcgan progress" epoch=2 epochs=5 step=20 total=20 `,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d progress and end-of-epoch lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d: %s\nwant it to hold %s", i, lines[i], w)
		}
	}
}

// TestTrainSaysWhatItTrains: a job's log gets a line when training starts
// (the data's size, the steps an epoch, the steps to go), before the first
// progress line, which comes only after train.log_every steps; it was
// silent until then. A resume says where it goes on from.
func TestTrainSaysWhatItTrains(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	out, err := gogan(t, append([]string{"train"}, smallDCGAN(run, "train.max_steps=3", "train.log_every=100", "device=cpu")...)...)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	want := "msg=training run=" + run + " recipe=dcgan device=cpu threads=2 samples=960 batch=64 steps_per_epoch=15 epochs=5 from_step=0 to_step=3\n"
	if i, j := strings.Index(out, want), strings.Index(out, "dcgan progress"); i < 0 || j < i {
		t.Errorf("no %q before the first progress line:\n%s", want, out)
	}
	out, err = gogan(t, "resume", run, "--quiet", "--set", "train.max_steps=20")
	if err != nil || !strings.Contains(out, "from_step=3 to_step=20\n") {
		t.Errorf("resume: %v\n%s", err, out)
	}
}

// TestRunsShowsTheLossesOfAStop: a run stopped between train.log_every
// rows (here before its first) writes the row of the step it stopped at
// (it had none), and gogan runs shows those losses; the resumed run goes on
// after that row without a second one of its step. Where metrics.csv lacks
// the row (a run killed after a checkpoint between rows), gogan runs shows
// the newest checkpoint's losses.
func TestRunsShowsTheLossesOfAStop(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(goganBin, append([]string{"train"}, smallDCGAN(run, "train.max_steps=400", "train.log_every=100", "train.sample_every=2")...)...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	signalWhen(t, cmd, &out, "live report of a step taken", func() bool {
		b, _ := os.ReadFile(filepath.Join(run, "index.html"))
		return regexp.MustCompile(`training: step [1-9]`).Match(b)
	}, syscall.SIGINT)
	if err := cmd.Wait(); err == nil || !strings.Contains(out.String(), "stopped by SIGINT") {
		t.Fatalf("train after SIGINT: %v\n%s", err, out.String())
	}
	_, st, err := runfolder.LatestValid(run)
	if err != nil {
		t.Fatal(err)
	}
	stop := strconv.Itoa(st.Step)
	rows := lossRows(t, run)
	if len(rows) != 2 || rows[1][0] != stop {
		t.Fatalf("metrics.csv after a stop at step %s (log_every 100): %v, want the header and the stop's row", stop, rows)
	}
	got, err := gogan(t, "runs", run)
	if err != nil || !regexp.MustCompile(`Loss_D=[0-9.]+ Loss_G=[0-9.]+ D_x=[0-9.]+ D_G_z1=[0-9.]+ D_G_z2=[0-9.]+ +stopped by SIGINT`).MatchString(got) {
		t.Errorf("gogan runs: %v\n%s", err, got)
	}
	// The row gone, as a run killed between rows leaves metrics.csv: the
	// checkpoint's losses.
	header := strings.Join(rows[0], ",") + ",images_per_s\n"
	if err := os.WriteFile(filepath.Join(run, "metrics.csv"), []byte(header), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := gogan(t, "runs", run); err != nil || !regexp.MustCompile(`Loss_D=[0-9.]+ Loss_G=[0-9.]+ D_x=[0-9.]+ D_G_z1=[0-9.]+ D_G_z2=[0-9.]+ +stopped by SIGINT`).MatchString(got) {
		t.Errorf("gogan runs without the stop's row: %v\n%s", err, got)
	}
	os.WriteFile(filepath.Join(run, "metrics.csv"), []byte(header+strings.Join(rows[1], ",")+",1.00\n"), 0o644)
	// Resumed to two steps on: the stop's row once, then the last step's.
	if out, err := gogan(t, "resume", run, "--quiet", "--set", fmt.Sprint("train.max_steps=", st.Step+2)); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	var steps []string
	for _, r := range lossRows(t, run)[1:] {
		steps = append(steps, r[0])
	}
	if want := []string{stop, strconv.Itoa(st.Step + 2)}; !slices.Equal(steps, want) {
		t.Errorf("metrics.csv's steps after the resume: %v, want %v", steps, want)
	}
}

// TestKilledRunsPageSaysWhenOverdue: a run killed without a word (SIGKILL)
// leaves its live page due for a rewrite by a time the trainer worked out
// from its pace (two minutes and a few steps' and a checkpoint's time after
// it was written), past which the page says the run may have stopped (the
// browser side: report's TestLivePageSaysWhenOverdue); a resumed run
// replaces that page as it starts, dates its next from its first step (a
// kill before its first grid is told too), and its final page says nothing
// of the kind.
func TestKilledRunsPageSaysWhenOverdue(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	page := filepath.Join(run, "index.html")
	kill := func(cmd *exec.Cmd) {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}
	start := time.Now()
	cmd, _ := startJob(t, run, 12, goganBin, append([]string{"train"}, smallDCGAN(run, "train.max_steps=400", "train.sample_every=5", "train.checkpoint_every=4")...)...)
	ran := time.Since(start)
	kill(cmd)
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(page)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`data-due="([0-9]+)"`).FindSubmatch(html)
	if m == nil {
		t.Fatalf("the killed run's live page has no due time:\n%s", html)
	}
	// The pace and the checkpoint's time are each at most the time the
	// job ran; the next rewrite is at most 5 steps on (sample_every).
	ms, _ := strconv.ParseInt(string(m[1]), 10, 64)
	if after := time.UnixMilli(ms).Sub(fi.ModTime()); after < 2*time.Minute || after > 2*time.Minute+17*ran {
		t.Errorf("the page is due %v after it was written (the job ran %v), want two minutes and a few steps' and a checkpoint's time", after, ran)
	}
	if !strings.Contains(string(html), "<code>gogan resume "+run+"</code>") || !strings.Contains(string(html), "<code>gogan runs "+filepath.Dir(run)+"</code>") {
		t.Errorf("the page does not say how to tell and go on:\n%s", html)
	}
	// The resumed run's page is its own from its first step (a row past
	// those the killed run logged: the resume cuts those after its
	// checkpoint).
	resumed := time.Now()
	cmd, _ = startJob(t, run, len(lossRows(t, run))+1, goganBin, "resume", run, "--quiet")
	kill(cmd)
	if fi, err := os.Stat(page); err != nil || fi.ModTime().Before(resumed) {
		t.Errorf("the resumed run did not rewrite the page as it started: %v", err)
	}
	if html, _ := os.ReadFile(page); !strings.Contains(string(html), "data-due=") {
		t.Errorf("the resumed run, killed after its first step and before a grid, left a page without a due time:\n%s", html)
	}
	if out, err := gogan(t, "resume", run, "--quiet", "--set", "train.max_steps=14"); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if html, _ := os.ReadFile(page); strings.Contains(string(html), `id="stale"`) || !strings.Contains(string(html), "finished") {
		t.Errorf("the final page:\n%s", html)
	}
}

// TestReportFitsAPhone: the report of a run, opened on a phone, is laid
// out at the phone's width, with nothing past the screen's edge (the
// metrics table, a long run name, the grids and the loss plot). It had
// no viewport meta tag, so a phone laid it out 980 pixels wide and shrank
// it to a third, its text unreadable.
func TestReportFitsAPhone(t *testing.T) {
	run := filepath.Join(t.TempDir(), strings.Repeat("a_long_run_name-", 6)+"<b>&é")
	mustTrain(t, smallDCGAN(run, "train.max_steps=10", "train.sample_every=5")...)
	b := startBrowser(t, "about:blank")
	b.openAsPhone(t, (&url.URL{Scheme: "file", Path: filepath.Join(run, "index.html")}).String(), `document.body.dataset.images === "ok"`)
	b.fitsThePhone(t, "the report")
}

// TestEvalPageInChromium: eval pix2pix's results page, opened on a phone,
// is laid out at the phone's width: the pairs' table (a column per image)
// scrolls in its place (it had no viewport meta tag: a phone laid it out
// 980 pixels wide and shrank it). Small images (Fashion-MNIST's 32 pixels)
// are shown scaled up by a whole factor, as the report's grids are; they
// were shown at 32 pixels, a thumbnail beside their scores.
func TestEvalPageInChromium(t *testing.T) {
	base := t.TempDir()
	run, results := filepath.Join(base, "run"), filepath.Join(base, "results")
	mustTrain(t, smallPix2Pix(run, "data.max_samples=32", "train.max_steps=1")...)
	if out, err := gogan(t, "eval", "pix2pix", "--checkpoint", run, "--device", "cpu", "--threads", "1", "--limit", "3", "--out", results); err != nil {
		t.Fatalf("eval: %v\n%s", err, out)
	}
	page := (&url.URL{Scheme: "file", Path: filepath.Join(results, "index.html")}).String()
	loaded := `document.images.length === 12 && Array.from(document.images).every((i) => i.complete && i.naturalWidth > 0)`
	b := startBrowser(t, page)
	b.waitFor(t, loaded, time.Minute)
	if sizes := b.evalString(t, `Array.from(document.images).map((i) => i.naturalWidth + ">" + i.getBoundingClientRect().width).join(" ")`); sizes != strings.TrimSpace(strings.Repeat("32>128 ", 12)) {
		t.Errorf("the images' widths, file > shown: %s; want the 32-pixel images shown 128 wide", sizes)
	}
	b.openAsPhone(t, page, loaded)
	b.fitsThePhone(t, "eval pix2pix's page")
}

// TestRewoundRunsPageShowsItsOwnEpochs: a run resumed from an older
// checkpoint (the newer ones moved aside) trains its later epochs again.
// Its page shows the grids of the epochs it has completed, not those the
// abandoned steps drew (TensorBoard drops those steps' images too, and the
// references' web/index.html lists the epochs up to the current one): they
// are replaced as the epochs end again.
func TestRewoundRunsPageShowsItsOwnEpochs(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	// 960 samples of batch 64: 15 steps an epoch, 3 epochs
	mustTrain(t, smallDCGAN(run, "train.epochs=3", "train.keep_every_epochs=1")...)
	aside := t.TempDir()
	for _, step := range []int{30, 45} {
		name := fmt.Sprintf("step-%08d", step)
		if err := os.Rename(filepath.Join(run, "checkpoints", name), filepath.Join(aside, name)); err != nil {
			t.Fatal(err)
		}
	}
	// from the end of epoch 1 to step 20, in epoch 2
	if out, err := gogan(t, "resume", run, "--quiet", "--set", "train.max_steps=20"); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	html, _ := os.ReadFile(filepath.Join(run, "index.html"))
	if !strings.Contains(string(html), `alt="epoch 1"`) {
		t.Errorf("the page lacks epoch 1's grid:\n%s", html)
	}
	for _, ahead := range []string{"epoch 2", "epoch 3"} {
		if strings.Contains(string(html), `alt="`+ahead+`"`) {
			t.Errorf("a run at step 20 (1 epoch done) shows the grid of %s, drawn by the steps it trained again", ahead)
		}
	}
}

// TestMetricsSaysImagesAndTime: metrics.csv alone tells a spreadsheet (or
// pandas) reader the images trained through each row's step (every rank's,
// the epochs' last short batches counted as they are) and when the step
// ended (wall_time: Unix seconds, TensorBoard's events' clock), through a
// stop and a resume, without config.yaml's per-rank batch or the clock of
// a log line.
func TestMetricsSaysImagesAndTime(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	// 100 samples of batch 64 without drop_last: batches of 64 and 36
	args := func(extra ...string) []string {
		return smallDCGAN(run, append([]string{"data.max_samples=100", "data.drop_last=false", "train.log_every=1", "train.epochs=3"}, extra...)...)
	}
	start := time.Now()
	mustTrain(t, args("train.max_steps=3")...)
	if out, err := gogan(t, "resume", run, "--quiet", "--set", "train.max_steps=0"); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	end := time.Now()
	f, err := os.Open(filepath.Join(run, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int {
		i := slices.Index(rows[0], name)
		if i < 0 {
			t.Fatalf("metrics.csv has no %s column: %v", name, rows[0])
		}
		return i
	}
	images, wall, step := col("images"), col("wall_time"), col("step")
	want := []int{64, 100, 164, 200, 264, 300}
	if len(rows) != 1+len(want) {
		t.Fatalf("metrics.csv: %d rows, want %d:\n%v", len(rows)-1, len(want), rows)
	}
	last := 0.0
	for i, r := range rows[1:] {
		if r[step] != strconv.Itoa(i+1) || r[images] != strconv.Itoa(want[i]) {
			t.Errorf("row %d: step %s, images %s; want step %d, images %d", i+1, r[step], r[images], i+1, want[i])
		}
		at, err := strconv.ParseFloat(r[wall], 64)
		if err != nil || at < float64(start.Unix()) || at > float64(end.Unix()+1) || at < last {
			t.Errorf("row %d: wall_time %q, not a time of the run's (%d to %d) after the row before's", i+1, r[wall], start.Unix(), end.Unix())
		}
		last = at
	}
}
