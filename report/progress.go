package report

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// ProgressOptions configure a Progress.
type ProgressOptions struct {
	Total int // last step of the run (0 = unknown)
	Start int // step the run resumed from; ETA only counts steps done since
	// Quiet replaces the bar with a log line every LogEvery steps. It is
	// implied when Writer is nil and stderr is not a terminal (CI, tests,
	// output piped to a file), where a redrawn bar would be noise.
	Quiet    bool
	LogEvery int          // quiet mode; default 100
	Writer   io.Writer    // bar output; default os.Stderr
	Logger   *slog.Logger // quiet mode; default slog.Default()
	Label    string       // shown before the bar, e.g. "dcgan"
}

// Progress shows step/total, images/s, the current losses and an ETA.
type Progress struct {
	opt   ProgressOptions
	bar   *progressbar.ProgressBar
	begin time.Time
	last  int

	// The bar is redrawn at most every barInterval; the newest state waits
	// here so Finish can draw exactly where the run stopped.
	drawn   time.Time
	pending func()
}

const barInterval = 100 * time.Millisecond

// NewProgress starts a progress display.
func NewProgress(opt ProgressOptions) *Progress {
	if opt.LogEvery <= 0 {
		opt.LogEvery = 100
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Writer == nil {
		opt.Writer = os.Stderr
		if !term.IsTerminal(int(os.Stderr.Fd())) {
			opt.Quiet = true
		}
	}
	p := &Progress{opt: opt, begin: time.Now(), last: opt.Start}
	if !opt.Quiet {
		total := int64(opt.Total)
		if total <= 0 {
			total = -1 // spinner
		}
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(opt.Writer),
			progressbar.OptionSetDescription(opt.Label),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(false), // ours counts from the resume point
			progressbar.OptionSetElapsedTime(false),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSetRenderBlankState(true),
		)
		if opt.Start > 0 {
			p.bar.Set64(int64(opt.Start))
		}
	}
	return p
}

// Update reports that step (1-based count of completed steps) is done.
func (p *Progress) Update(step int, imagesPerSec float64, losses map[string]float64) {
	p.last = step
	eta := p.eta(step)
	if p.bar != nil {
		desc := p.describe(imagesPerSec, losses, eta)
		p.pending = func() {
			p.bar.Describe(desc)
			p.bar.Set64(int64(step))
		}
		if time.Since(p.drawn) >= barInterval || step == p.opt.Total {
			p.flush()
		}
		return
	}
	if step%p.opt.LogEvery != 0 && step != p.opt.Total {
		return
	}
	attrs := []any{"step", step}
	if p.opt.Total > 0 {
		attrs = append(attrs, "total", p.opt.Total)
	}
	attrs = append(attrs, "images_per_s", round2(imagesPerSec))
	for _, n := range sortedKeys(losses) {
		attrs = append(attrs, n, round4(losses[n]))
	}
	if eta >= 0 {
		attrs = append(attrs, "eta", eta.String())
	}
	p.opt.Logger.Info(strings.TrimSpace(p.opt.Label+" progress"), attrs...)
}

func (p *Progress) flush() {
	if p.pending != nil {
		p.pending()
		p.pending = nil
		p.drawn = time.Now()
	}
}

// Finish draws the last state and ends the bar's line (a no-op in quiet
// mode). The bar stays where the run stopped, full or not.
func (p *Progress) Finish() {
	if p.bar != nil {
		p.flush()
		p.bar.Exit()
		fmt.Fprintln(p.opt.Writer)
	}
}

// eta is the time left at the average pace since the start, or -1 unknown.
func (p *Progress) eta(step int) time.Duration {
	done := step - p.opt.Start
	if p.opt.Total <= 0 || done <= 0 {
		return -1
	}
	per := time.Since(p.begin) / time.Duration(done)
	return (per * time.Duration(max(0, p.opt.Total-step))).Round(time.Second)
}

func (p *Progress) describe(ips float64, losses map[string]float64, eta time.Duration) string {
	var b strings.Builder
	if p.opt.Label != "" {
		b.WriteString(p.opt.Label + " | ")
	}
	for _, n := range sortedKeys(losses) {
		fmt.Fprintf(&b, "%s %.4g ", n, losses[n])
	}
	fmt.Fprintf(&b, "| %.1f img/s", ips)
	if eta >= 0 {
		fmt.Fprintf(&b, " | ETA %s", eta)
	}
	return b.String()
}

func sortedKeys(m map[string]float64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func round2(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 2, 64), 64)
	return v
}
func round4(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 4, 64), 64)
	return v
}
