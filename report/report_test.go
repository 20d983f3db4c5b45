package report_test

import (
	"context"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gogan/config"
	_ "gogan/gan/all"
	"gogan/report"
	"gogan/runfolder"

	"gonum.org/v1/plot/plotter"
)

const chromiumPath = "/usr/bin/chromium"

// fillRun writes what a short run leaves behind: config, metrics, loss
// plot, the latest grid and three epoch grids.
func fillRun(t *testing.T, cfg *config.Config) runfolder.RunDir {
	t.Helper()
	r, err := runfolder.NewRunDir(filepath.Join(t.TempDir(), "run"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteConfig(cfg); err != nil {
		t.Fatal(err)
	}
	m, err := runfolder.OpenMetrics(r.MetricsPath(), []string{"D", "G"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(3))
	for s := 10; s <= 300; s += 10 {
		m.Write(s, s/100, 0, time.Time{}, map[string]float64{"D": 0.7 - float64(s)/1000 + 0.05*rng.Float64(), "G": 1 + 0.5*rng.Float64()}, 2e-4, 800)
	}
	m.Close()
	if err := report.WriteLossPlot(r.MetricsPath(), r.LossPlotPath(), "losses"); err != nil {
		t.Fatal(err)
	}
	gen := func() float32 { return float32(math.Tanh(rng.NormFloat64())) }
	for e := 1; e <= 3; e++ {
		g, _ := report.MakeGrid(randImages(rng, 16, 1, 28, 28, gen), report.DCGANGrid)
		if err := report.SavePNG(r.EpochSamplePath(e), g); err != nil {
			t.Fatal(err)
		}
	}
	g, _ := report.MakeGrid(randImages(rng, 64, 3, 32, 32, gen), report.DCGANGrid)
	if err := report.SavePNG(r.LatestSamplePath(), g); err != nil {
		t.Fatal(err)
	}
	return r
}

type pageImage struct {
	Src, State   string
	NaturalWidth int
}

var (
	imgTagRe = regexp.MustCompile(`<img [^>]*>`)
	attrRe   = regexp.MustCompile(`([a-z-]+)="([^"]*)"`)
)

// loadInChromium opens the page in headless Chromium, lets its load handler
// run, and returns each <img> as the browser saw it.
func loadInChromium(t *testing.T, page string) ([]pageImage, string) {
	t.Helper()
	dom := dumpDOM(t, page)
	var imgs []pageImage
	for _, tag := range imgTagRe.FindAllString(dom, -1) {
		im := pageImage{}
		for _, a := range attrRe.FindAllStringSubmatch(tag, -1) {
			switch a[1] {
			case "src":
				im.Src = a[2]
			case "data-state":
				im.State = a[2]
			case "data-natural-width":
				im.NaturalWidth, _ = strconv.Atoi(a[2])
			}
		}
		imgs = append(imgs, im)
	}
	status := ""
	if m := regexp.MustCompile(`<body[^>]*data-images="([a-z]+)"`).FindStringSubmatch(dom); m != nil {
		status = m[1]
	}
	return imgs, status
}

// dumpDOM is the page's DOM after headless Chromium loaded it and ran its
// scripts.
func dumpDOM(t *testing.T, page string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromiumPath,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(),
		// Virtual time lets every load finish (and the load handler run)
		// before the DOM is dumped; it stays below the page's refresh.
		"--virtual-time-budget=5000",
		"--dump-dom", "file://"+page)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// checkImagesLoaded fails unless every image on the page loaded with the
// width of the PNG file it points at.
func checkImagesLoaded(run runfolder.RunDir, imgs []pageImage, status string, wantCount int) error {
	if len(imgs) != wantCount {
		return fmt.Errorf("page has %d images, want %d", len(imgs), wantCount)
	}
	var bad []string
	for _, im := range imgs {
		if im.State != "loaded" {
			bad = append(bad, fmt.Sprintf("%s (%s)", im.Src, im.State))
			continue
		}
		path, _, _ := strings.Cut(im.Src, "?")
		f, err := os.Open(filepath.Join(run.Path, path))
		if err != nil {
			bad = append(bad, im.Src+": "+err.Error())
			continue
		}
		img := decodePNGConfig(f)
		f.Close()
		if img != im.NaturalWidth {
			bad = append(bad, fmt.Sprintf("%s: browser width %d, file width %d", im.Src, im.NaturalWidth, img))
		}
	}
	if status != "ok" {
		bad = append(bad, "page status "+strconv.Quote(status))
	}
	if len(bad) > 0 {
		return fmt.Errorf("images not loaded: %s", strings.Join(bad, "; "))
	}
	return nil
}

func TestReportInChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s missing: the report test needs Debian's chromium (make setup installs it)", chromiumPath)
	}
	cfg, err := config.LoadConfig("", []string{"data.root=/data/</pre><b>&x"})
	if err != nil {
		t.Fatal(err)
	}
	r := fillRun(t, cfg)
	if err := report.WriteReport(r, report.ReportInfo{Title: "test <run>", Status: "training: step 300 of 1200", Live: true, RefreshSeconds: 30,
		Layout: "each row: real_A | fake_B | real_B", EpochsDone: 3}); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(r.ReportPath())
	for _, s := range []string{`<meta http-equiv="refresh" content="30">`, "root: /data/&lt;/pre&gt;&lt;b&gt;&amp;x", "test &lt;run&gt;",
		"<th>images_per_s</th>", "<td>300</td>", "epoch 3", "samples/epoch-0001.png?v=", "loss.png?v=",
		"<h2>Latest samples</h2>\n<p class=\"layout\">each row: real_A | fake_B | real_B</p>",
		"<h2>Samples by epoch</h2>\n<p class=\"layout\">each row: real_A | fake_B | real_B</p>"} {
		if !strings.Contains(string(html), s) {
			t.Errorf("report lacks %q", s)
		}
	}
	if strings.Contains(string(html), "<b>&x") {
		t.Error("config not escaped")
	}
	// newest epoch first
	if strings.Index(string(html), "epoch-0003") > strings.Index(string(html), "epoch-0001") {
		t.Error("epochs not newest first")
	}

	imgs, status := loadInChromium(t, r.ReportPath())
	if err := checkImagesLoaded(r, imgs, status, 5); err != nil {
		t.Fatal(err)
	}
	// every image shown: the page says nothing of them (it said "5 images
	// loaded", and "checking images…" until its script ran)
	if m := regexp.MustCompile(`<p id="image-status"[^>]*>([^<]*)</p>`).FindStringSubmatch(dumpDOM(t, r.ReportPath())); m == nil || m[1] != "" {
		t.Errorf("the page's word on its images, all shown: %q, want none", m)
	}

	// The check must catch a broken page: a missing file and a corrupt PNG.
	os.Remove(r.EpochSamplePath(2))
	imgs, status = loadInChromium(t, r.ReportPath())
	err = checkImagesLoaded(r, imgs, status, 5)
	if err == nil || !strings.Contains(err.Error(), "epoch-0002.png") || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("missing image not detected: %v", err)
	}
	os.WriteFile(r.LatestSamplePath(), []byte("\x89PNG\r\n\x1a\nnot really"), 0o644)
	imgs, status = loadInChromium(t, r.ReportPath())
	err = checkImagesLoaded(r, imgs, status, 5)
	if err == nil || !strings.Contains(err.Error(), "latest.png") {
		t.Fatalf("corrupt image not detected: %v", err)
	}

	// The final report does not refresh and still loads (after a rewrite
	// with the damaged files gone from the run folder).
	os.Remove(r.LatestSamplePath())
	if err := report.WriteReport(r, report.ReportInfo{Title: "done", Status: "finished", EpochsDone: 3}); err != nil {
		t.Fatal(err)
	}
	html, _ = os.ReadFile(r.ReportPath())
	if strings.Contains(string(html), "http-equiv") {
		t.Error("final report refreshes")
	}
	if strings.Contains(string(html), `class="layout"`) {
		t.Error("a layout said where none was given")
	}
	imgs, status = loadInChromium(t, r.ReportPath())
	if err := checkImagesLoaded(r, imgs, status, 3); err != nil {
		t.Fatal(err)
	}
}

// TestLivePageSaysWhenOverdue: a live page not rewritten by the time the
// trainer said (a run killed without a word) says, in the browser, that the
// run may have stopped and how to tell; before that time, on a final page
// or without a due time, it says nothing of the kind.
func TestLivePageSaysWhenOverdue(t *testing.T) {
	cfg, err := config.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := fillRun(t, cfg)
	stale := regexp.MustCompile(`<body[^>]*data-stale="yes"`)
	for _, c := range []struct {
		name  string
		live  bool
		due   time.Duration // from now; 0: none
		shown bool
	}{
		{"overdue", true, -time.Hour, true},
		{"due later", true, time.Hour, false},
		{"no due time", true, 0, false},
		{"final page", false, -time.Hour, false},
	} {
		info := report.ReportInfo{Title: "run", Status: "training: step 300 of 1200", Live: c.live,
			RunsCommand: "gogan runs /r", ResumeCommand: "gogan resume '/r/a b'"}
		if c.due != 0 {
			info.DueBy = time.Now().Add(c.due)
		}
		if err := report.WriteReport(r, info); err != nil {
			t.Fatal(err)
		}
		dom := dumpDOM(t, r.ReportPath())
		p := regexp.MustCompile(`<p id="stale"[^>]*>`).FindString(dom)
		switch {
		case c.shown && (!stale.MatchString(dom) || p == "" || strings.Contains(p, "hidden")):
			t.Errorf("%s: the page does not say the run may have stopped: %q", c.name, p)
		case c.shown && (!strings.Contains(dom, "<code>gogan runs /r</code>") || !strings.Contains(dom, "<code>gogan resume '/r/a b'</code>")):
			t.Errorf("%s: the page does not say how to tell and go on:\n%s", c.name, dom)
		case !c.shown && (stale.MatchString(dom) || p != "" && !strings.Contains(p, "hidden")):
			t.Errorf("%s: the page says the run may have stopped: %q", c.name, p)
		}
	}
}

func TestReportEmptyRun(t *testing.T) {
	r, err := runfolder.NewRunDir(filepath.Join(t.TempDir(), "run"))
	if err != nil {
		t.Fatal(err)
	}
	if err := report.WriteReport(r, report.ReportInfo{Title: "fresh", Live: true}); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(r.ReportPath())
	if strings.Contains(string(html), "<img") || !strings.Contains(string(html), `content="15"`) {
		t.Fatalf("empty run report:\n%s", html)
	}
}

func TestLossPlotPNG(t *testing.T) {
	cfg, _ := config.LoadConfig("", nil)
	r := fillRun(t, cfg)
	img := readPNG(t, r.LossPlotPath())
	if b := img.Bounds(); b.Dx() != 960 || b.Dy() != 432 {
		t.Fatalf("size %v", b)
	}
	// Both series are drawn in their colours, and the axes in black.
	count := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			c := color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}
			count[c]++
		}
	}
	for i, name := range []string{"D", "G"} {
		if count[report.LossColors[i]] < 200 {
			t.Errorf("series %s: %d pixels of its colour", name, count[report.LossColors[i]])
		}
	}
	dark := 0
	for c, n := range count {
		if c.R < 100 && c.G < 100 && c.B < 100 && max(c.R, c.G, c.B)-min(c.R, c.G, c.B) < 10 {
			dark += n
		}
	}
	if dark < 1000 { // axes, ticks and (antialiased) labels
		t.Errorf("axes/labels: %d dark pixels", dark)
	}
	// One row (a run shorter than log_every): each loss a marked point,
	// more of its colour than the legend's sample line alone.
	one := filepath.Join(t.TempDir(), "m.csv")
	m1, _ := runfolder.OpenMetrics(one, []string{"D", "G"}, 0)
	m1.Write(1, 0, 0, time.Time{}, map[string]float64{"D": 0.7, "G": 1.3}, 2e-4, 800)
	m1.Close()
	if err := report.WriteLossPlot(one, filepath.Join(filepath.Dir(one), "l.png"), "x"); err != nil {
		t.Fatal(err)
	}
	colours := map[color.RGBA]int{}
	im1 := readPNG(t, filepath.Join(filepath.Dir(one), "l.png"))
	for y := im1.Bounds().Min.Y; y < im1.Bounds().Max.Y; y++ {
		for x := im1.Bounds().Min.X; x < im1.Bounds().Max.X; x++ {
			r, g, bl, _ := im1.At(x, y).RGBA()
			colours[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}]++
		}
	}
	for i := range 2 { // measured: 26 for the legend's line alone, 62 with the point
		if n := colours[report.LossColors[i]]; n < 45 {
			t.Errorf("one row: series %d has %d pixels of its colour, the legend's alone", i, n)
		}
	}
	// No rows yet: still a valid image.
	p := filepath.Join(t.TempDir(), "m.csv")
	m, _ := runfolder.OpenMetrics(p, []string{"D"}, 0)
	m.Close()
	if err := report.WriteLossPlot(p, filepath.Join(filepath.Dir(p), "l.png"), "x"); err != nil {
		t.Fatal(err)
	}
	readPNG(t, filepath.Join(filepath.Dir(p), "l.png"))
}

// TestLossPlotSkipsEmptyCells: a loss without a value at some rows (a
// resumed run whose losses changed: the new ones' cells are empty before
// it) is drawn from the rows that have one, beside the others.
func TestLossPlotSkipsEmptyCells(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.csv")
	m, err := runfolder.OpenMetrics(p, []string{"D", "G"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for s := 10; s <= 300; s += 10 {
		losses := map[string]float64{"D": 0.7 - float64(s)/1000}
		if s > 100 {
			losses["G"] = 1 + float64(s%30)/100
		}
		m.Write(s, 0, 0, time.Time{}, losses, 2e-4, 800)
	}
	m.Close()
	out := filepath.Join(filepath.Dir(p), "l.png")
	if err := report.WriteLossPlot(p, out, "x"); err != nil {
		t.Fatal(err)
	}
	img := readPNG(t, out)
	count := map[color.RGBA]int{}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			count[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}]++
		}
	}
	for i, name := range []string{"D", "G"} {
		if count[report.LossColors[i]] < 200 {
			t.Errorf("series %s: %d pixels of its colour", name, count[report.LossColors[i]])
		}
	}
}

func TestNiceTicks(t *testing.T) {
	ticks := report.NiceTicks(-0.013, 3.2)
	var labels []string
	for _, tk := range ticks {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if strings.Join(labels, " ") != "0.0 0.5 1.0 1.5 2.0 2.5 3.0" {
		t.Fatalf("labels %v", labels)
	}
	labels = nil
	for _, tk := range report.NiceTicks(20, 3000) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if strings.Join(labels, " ") != "500 1000 1500 2000 2500 3000" {
		t.Fatalf("labels %v", labels)
	}
}

func decodePNGConfig(r io.Reader) int {
	c, err := png.DecodeConfig(r)
	if err != nil {
		return -1
	}
	return c.Width
}

// TestLossPlotOfALongRun: a noisy loss logged at every one of 200,000
// steps is drawn as its envelope, 2 points a pixel column (it took the
// rasteriser minutes whole), keeping the extremes: a spike at one step is
// in it.
func TestLossPlotOfALongRun(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	pts := make(plotter.XYs, 200_000)
	for i := range pts {
		pts[i] = plotter.XY{X: float64(i + 1), Y: rng.Float64()}
	}
	pts[123_457].Y = 40
	env := report.Envelope(pts, 1000)
	if len(env) > 2002 || env[0] != pts[0] || env[len(env)-1] != pts[len(pts)-1] {
		t.Fatalf("envelope of %d points: %d, first %v, last %v", len(pts), len(env), env[0], env[len(env)-1])
	}
	spike, ordered := false, true
	for i, p := range env {
		spike = spike || p == pts[123_457]
		if i > 0 && p.X <= env[i-1].X {
			ordered = false
		}
	}
	if !spike || !ordered {
		t.Errorf("envelope: spike kept %v, in step order %v", spike, ordered)
	}
	if short := pts[:1500]; len(report.Envelope(short, 1000)) != 1500 {
		t.Errorf("a series of fewer than 2n points was thinned")
	}
	// and the whole plot of such a run
	p := filepath.Join(t.TempDir(), "m.csv")
	m, _ := runfolder.OpenMetrics(p, []string{"D"}, 0)
	for i, q := range pts {
		m.Write(i+1, 0, 0, time.Time{}, map[string]float64{"D": q.Y}, 2e-4, 800)
	}
	m.Close()
	if err := report.WriteLossPlot(p, filepath.Join(filepath.Dir(p), "l.png"), "x"); err != nil {
		t.Fatal(err)
	}
	readPNG(t, filepath.Join(filepath.Dir(p), "l.png"))
}

// TestLossPlotOfALongRunShowsWhatItsLinesWould: the band a loss of more
// points than the plot has columns is drawn as (its line took the
// rasteriser seconds a plot, at every sample grid) shows what the line
// showed: a spike at one step rises above the noise in a column or two
// alone, and a smooth loss is a line across the whole plot, no thicker.
func TestLossPlotOfALongRunShowsWhatItsLinesWould(t *testing.T) {
	p := filepath.Join(t.TempDir(), "metrics.csv")
	m, err := runfolder.OpenMetrics(p, []string{"D", "G"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	for step := 1; step <= 20_000; step++ {
		d := rng.Float64() // noise in [0, 1], a spike to 40 at one step
		if step == 12_345 {
			d = 40
		}
		m.Write(step, 0, 0, time.Time{}, map[string]float64{"D": d, "G": 10 + 10*math.Exp(-float64(step)/3000)}, 2e-4, 800)
	}
	m.Close()
	out := filepath.Join(filepath.Dir(p), "loss.png")
	if err := report.WriteLossPlot(p, out, "x"); err != nil {
		t.Fatal(err)
	}
	im := readPNG(t, out)
	near := func(x, y int, c color.RGBA) bool {
		r, g, b, _ := im.At(x, y).RGBA()
		return absInt(int(r>>8)-int(c.R))+absInt(int(g>>8)-int(c.G))+absInt(int(b>>8)-int(c.B)) < 60
	}
	blue, vermillion := color.RGBA{0, 114, 178, 255}, color.RGBA{213, 94, 0, 255} // D's and G's
	w, h := im.Bounds().Dx(), im.Bounds().Dy()
	spike, smooth, thickest := 0, 0, 0
	for x := w / 10; x < w*9/10; x++ {
		high, g := false, 0
		for y := h / 8; y < h*9/10; y++ {
			// in the upper part of D's panel, above its noise, D is its
			// spike: of its raw values' tint (its smoothed line, in its
			// colour, averages the spike away)
			high = high || (y < h/3 && near(x, y, report.RawTint(blue)))
			if near(x, y, vermillion) {
				g++
			}
		}
		if high {
			spike++
		}
		if g > 0 {
			smooth++
		}
		thickest = max(thickest, g)
	}
	if spike < 1 || spike > 4 {
		t.Errorf("D's spike at one step: %d columns high up, want 1 to 4", spike)
	}
	if cols := w*9/10 - w/10; smooth < cols*98/100 {
		t.Errorf("G's smooth line shows in %d of %d columns", smooth, cols)
	}
	// and no more than a line's width of it: falling less than a pixel a
	// column, G's line of 1.5 points is 2 pixels high, and one shaded (a
	// band widened by a whole line is 5, one drawn in another order 40)
	if thickest > 4 {
		t.Errorf("G's smooth line is %d pixels high in a column", thickest)
	}
}

func absInt(v int) int { return max(v, -v) }

// TestLossPlotOfALongRunWithAGap: a long loss with no rows over a stretch
// of steps is drawn across it as its line would be, from the last point
// before to the first after, not filled between the band's edges (a
// block of loss where there was none).
func TestLossPlotOfALongRunWithAGap(t *testing.T) {
	p := filepath.Join(t.TempDir(), "metrics.csv")
	m, err := runfolder.OpenMetrics(p, []string{"D"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	for step := 1; step <= 20_000; step++ {
		if d := 5 + rng.Float64(); step <= 5000 || step > 15_000 {
			m.Write(step, 0, 0, time.Time{}, map[string]float64{"D": d}, 2e-4, 800)
		}
	}
	m.Close()
	out := filepath.Join(filepath.Dir(p), "loss.png")
	if err := report.WriteLossPlot(p, out, "x"); err != nil {
		t.Fatal(err)
	}
	im := readPNG(t, out)
	w, h := im.Bounds().Dx(), im.Bounds().Dy()
	for x := w * 2 / 5; x < w*3/5; x++ { // steps about 8000 to 12,000
		n := 0
		for y := range h {
			r, g, b, _ := im.At(x, y).RGBA()
			if absInt(int(r>>8)-0)+absInt(int(g>>8)-114)+absInt(int(b>>8)-178) < 60 {
				n++
			}
		}
		if n < 1 || n > 4 {
			t.Fatalf("column %d, in the gap: %d pixels of D, want its line's 1 to 4", x, n)
		}
	}
}

// TestLossPlotOfHugeSteps: axes whose values are too close for their
// magnitude (a metrics.csv whose steps are near 1e17, hand-edited or
// damaged) are labelled at their ends; the tick loop never ended there,
// growing its slice until memory ran out.
func TestLossPlotOfHugeSteps(t *testing.T) {
	within := func(what string, f func()) {
		t.Helper()
		done := make(chan struct{})
		go func() { f(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: no end after 20 s", what)
		}
	}
	within("ticks", func() {
		for _, r := range [][2]float64{{1e17, 1e17 + 64}, {-1e17 - 64, -1e17}, {1e300, 1e300 * (1 + 1e-15)}, {-math.MaxFloat64, math.MaxFloat64}, {math.Inf(-1), math.Inf(1)}} {
			if ticks := report.NiceTicks(r[0], r[1]); len(ticks) > 100 {
				t.Errorf("%v: %d ticks", r, len(ticks))
			}
		}
	})
	p := filepath.Join(t.TempDir(), "metrics.csv")
	csv := "step,epoch,D,G,lr,images_per_s\n" +
		"100000000000000000,0,0.5,1e+20,0.0002,800\n" +
		"100000000000000064,0,0.7,1.00001e+20,0.0002,800\n"
	if err := os.WriteFile(p, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	within("loss plot", func() {
		if err := report.WriteLossPlot(p, filepath.Join(filepath.Dir(p), "l.png"), "x"); err != nil {
			t.Error(err)
		}
	})
	readPNG(t, filepath.Join(filepath.Dir(p), "l.png"))
}

// TestLossPlotOfHugeLosses: a long loss (drawn as its band) whose values
// span more than float64 holds, in a damaged metrics.csv, is still drawn:
// the band widened by half a line of an infinite axis was refused.
func TestLossPlotOfHugeLosses(t *testing.T) {
	p := filepath.Join(t.TempDir(), "metrics.csv")
	m, err := runfolder.OpenMetrics(p, []string{"D", "G"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for step := 1; step <= 3000; step++ {
		m.Write(step, 0, 0, time.Time{}, map[string]float64{"D": 1e308 * float64(step%3-1), "G": 1.7e308 * float64(step%2)}, 2e-4, 800)
	}
	m.Close()
	if err := report.WriteLossPlot(p, filepath.Join(filepath.Dir(p), "l.png"), "x"); err != nil {
		t.Fatal(err)
	}
	readPNG(t, filepath.Join(filepath.Dir(p), "l.png"))
}

// TestReportOfALongRun: the last row's step is shown whole. A run of a
// million steps and more showed "1.23457e+06" for step 1234567. So are
// the images, and wall_time is a date and time, as the page's others.
func TestReportOfALongRun(t *testing.T) {
	r, err := runfolder.NewRunDir(filepath.Join(t.TempDir(), "run"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := runfolder.OpenMetrics(r.MetricsPath(), []string{"D", "G"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1796658126370)
	m.Write(1234567, 1234, 79012288, at, map[string]float64{"D": 0.25, "G": 1234567.5}, 2e-4, 800)
	m.Close()
	if err := report.WriteReport(r, report.ReportInfo{Title: "long"}); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(r.ReportPath())
	if !strings.Contains(string(html), "<tr><td>1234567</td><td>1234</td><td>79012288</td><td>"+at.Format("2006-01-02 15:04:05")+"</td><td>0.25</td><td>1.23457e&#43;06</td><td>0.0002</td><td>800</td></tr>") {
		t.Fatalf("last metrics row:\n%s", html)
	}
}

// TestReportShowsTheEpochsDone: the page shows the grids of the epochs
// the run has completed, newest first, and leaves out those of later
// epochs that a rewound run's abandoned steps drew; a run before its
// first epoch's end shows none.
func TestReportShowsTheEpochsDone(t *testing.T) {
	cfg, err := config.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := fillRun(t, cfg) // the grids of epochs 1 to 3
	for done, want := range map[int][]string{0: nil, 2: {"epoch 2", "epoch 1"}, 3: {"epoch 3", "epoch 2", "epoch 1"}} {
		if err := report.WriteReport(r, report.ReportInfo{Title: "rewound", EpochsDone: done}); err != nil {
			t.Fatal(err)
		}
		html, _ := os.ReadFile(r.ReportPath())
		var got []string
		for _, m := range regexp.MustCompile(`<figcaption>(epoch \d+)</figcaption>`).FindAllSubmatch(html, -1) {
			got = append(got, string(m[1]))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%d epochs done: the page shows the grids of %q, want %q", done, got, want)
		}
	}
}
