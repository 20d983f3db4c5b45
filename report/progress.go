package report

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"gogan/runfolder"
)

// ProgressOptions configure a Progress.
type ProgressOptions struct {
	Total  int // last step of the run (0 = unknown)
	Start  int // step the run resumed from; ETA only counts steps done since
	Epochs int // the run's epochs, named in the log lines beside the epoch (0 = none)
	// Quiet replaces the bar with a log line every LogEvery steps. It is
	// implied when Writer is nil and stderr is not a terminal (CI, tests,
	// output piped to a file), where a redrawn bar would be noise.
	Quiet    bool
	LogEvery int          // quiet mode; default 100
	Writer   io.Writer    // bar output; default os.Stderr
	Logger   *slog.Logger // quiet mode; default slog.Default()
	Label    string       // shown before the bar, e.g. "dcgan"
	// Order lists the losses as the recipe names them (metrics.csv's
	// columns, the references' lines: DCGAN's Loss_D and Loss_G first);
	// others follow by name.
	Order []string
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
	cols    func() int // the terminal's width now; nil where Writer is not a terminal
	out     *mutedWriter
}

// mutedWriter is the bar's writer, muted while a step's description is set:
// the bar's Describe draws at once, with the count of the step before, and
// a step's frame is to pair its count with its own losses. The bar does not
// see a terminal through it, so Progress fits the bar's width itself
// (barWidth).
type mutedWriter struct {
	w     io.Writer
	muted bool
}

func (m *mutedWriter) Write(b []byte) (int, error) {
	if m.muted {
		return len(b), nil
	}
	return m.w.Write(b)
}

const barInterval = 100 * time.Millisecond

// LogOutput is stderr for log lines (main's slog handler writes here).
// While a progress bar is drawn there, a log line first clears the bar's
// line, and the bar's next redraw comes below it: a warning in the middle
// of a run (a stop requested) then starts a line of its own instead of
// running on from the end of the bar's, and the last line a process that
// quits at once (a second signal) leaves is its message, not a bar.
var LogOutput io.Writer = logOutput

var logOutput = &barAwareWriter{w: os.Stderr}

// barAwareWriter serialises log lines with the bar's redraws (which happen
// under its lock too).
type barAwareWriter struct {
	mu     sync.Mutex
	w      io.Writer
	bar    *progressbar.ProgressBar // the bar on the terminal, or nil
	hidden bool                     // cleared for a log line, not drawn since
}

func (l *barAwareWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bar != nil && !l.hidden {
		l.bar.Clear()
		l.hidden = true
	}
	return l.w.Write(b)
}

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
	p := &Progress{opt: opt, begin: time.Now(), last: opt.Start, out: &mutedWriter{w: opt.Writer}}
	if !opt.Quiet {
		f, _ := opt.Writer.(*os.File)
		if f != nil && term.IsTerminal(int(f.Fd())) {
			p.cols = func() int {
				w, _, err := term.GetSize(int(f.Fd()))
				if err != nil {
					return 0
				}
				return w
			}
		}
		total := int64(opt.Total)
		if total <= 0 {
			total = -1 // spinner
		}
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(p.out),
			progressbar.OptionSetDescription(opt.Label),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(false), // ours counts from the resume point
			progressbar.OptionSetElapsedTime(false),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetWidth(barWidth(opt.Label, p.room())),
			progressbar.OptionSetRenderBlankState(true),
		)
		if opt.Start > 0 {
			p.bar.Set64(int64(opt.Start))
		}
		if f == os.Stderr && p.cols != nil {
			logOutput.mu.Lock()
			logOutput.bar, logOutput.hidden = p.bar, false
			logOutput.mu.Unlock()
		}
	}
	return p
}

// Update reports that step (1-based count of completed steps) is done, a
// step of epoch (1-based; 0: the log line names none).
func (p *Progress) Update(step, epoch int, imagesPerSec float64, losses map[string]float64) {
	p.last = step
	eta := p.eta(step)
	if p.bar != nil {
		room := p.room()
		desc := p.describe(imagesPerSec, losses, eta, room)
		width := barWidth(desc, room)
		p.pending = func() {
			progressbar.OptionSetWidth(width)(p.bar)
			p.out.muted = true
			p.bar.Describe(desc)
			p.out.muted = false
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
	attrs := append(p.epochAttrs(epoch), "step", step)
	if p.opt.Total > 0 {
		attrs = append(attrs, "total", p.opt.Total)
	}
	attrs = append(attrs, "images_per_s", round2(imagesPerSec))
	for _, n := range runfolder.OrderedLosses(p.opt.Order, losses) {
		attrs = append(attrs, n, round4(losses[n]))
	}
	if eta >= 0 {
		attrs = append(attrs, "eta", eta.String())
	}
	p.opt.Logger.Info(strings.TrimSpace(p.opt.Label+" progress"), attrs...)
}

// epochAttrs are a log line's epoch (and the run's epochs), as the
// references' lines begin: main.py's [epoch/niter], pix2pix's (epoch: N).
func (p *Progress) epochAttrs(epoch int) []any {
	if epoch <= 0 {
		return nil
	}
	attrs := []any{"epoch", epoch}
	if p.opt.Epochs > 0 {
		attrs = append(attrs, "epochs", p.opt.Epochs)
	}
	return attrs
}

// EndEpoch logs the end of epoch (1-based) at step, which took took: the
// references' "End of epoch 3 / 200 	 Time Taken: 12 sec". It is logged with
// the bar too (a line above it).
func (p *Progress) EndEpoch(epoch, step int, took time.Duration) {
	attrs := append(p.epochAttrs(epoch), "step", step, "time", took.Round(time.Second).String())
	p.opt.Logger.Info(strings.TrimSpace(p.opt.Label+" end of epoch"), attrs...)
}

func (p *Progress) flush() {
	logOutput.mu.Lock()
	defer logOutput.mu.Unlock()
	if p.pending != nil {
		p.pending()
		p.pending = nil
		p.drawn = time.Now()
		logOutput.hidden = false
	}
}

// Finish draws the last state and ends the bar's line (a no-op in quiet
// mode). The bar stays where the run stopped, full or not.
func (p *Progress) Finish() {
	if p.bar != nil {
		p.flush()
		logOutput.mu.Lock()
		defer logOutput.mu.Unlock()
		if logOutput.bar == p.bar {
			if logOutput.hidden { // a log line since the last step: draw it again
				io.WriteString(p.opt.Writer, p.bar.String())
			}
			logOutput.bar, logOutput.hidden = nil, false
		}
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

// barMin is the least width the bar itself keeps on a narrow terminal,
// barMax its width where the line fits.
const barMin, barMax = 10, 30

// barWidth is the bar's width beside desc, where room is the width a
// description may take beside a bar of barMin: barMax, less on a narrow
// terminal, so that the line fits it.
func barWidth(desc string, room int) int {
	if room == math.MaxInt {
		return barMax
	}
	return max(barMin, min(barMax, barMin+room-utf8.RuneCountInString(desc)))
}

// room is the width the description may take for the bar's line to fit
// the terminal (math.MaxInt where the width is unknown). A line wider than
// the terminal wraps, and every redraw, which goes back to the start of
// its last row only, would leave a row behind. The line is
// "%4d%% |<bar>| (step/total) <description> ".
func (p *Progress) room() int {
	if p.cols == nil {
		return math.MaxInt
	}
	cols := p.cols()
	if cols <= 0 {
		return math.MaxInt
	}
	count := 2*len(strconv.Itoa(max(p.opt.Total, 0))) + 3
	// a column spare where the bar need not shrink to fit
	return max(0, cols-1-(6+2+barMin+1+count+1+1))
}

// describe is the bar's description, at most room characters: the losses
// that do not fit are left out from the last, so that the first (in Order)
// and the speed and the ETA stay (every loss is in metrics.csv and the
// report).
func (p *Progress) describe(ips float64, losses map[string]float64, eta time.Duration, room int) string {
	head := ""
	if p.opt.Label != "" {
		head = p.opt.Label + " | "
	}
	tail := fmt.Sprintf("| %.1f img/s", ips)
	if eta >= 0 {
		tail += fmt.Sprintf(" | ETA %s", eta)
	}
	names := runfolder.OrderedLosses(p.opt.Order, losses)
	for n := len(names); ; n-- {
		var b strings.Builder
		b.WriteString(head)
		for _, k := range names[:n] {
			fmt.Fprintf(&b, "%s %.4g ", k, losses[k])
		}
		b.WriteString(tail)
		if d := []rune(b.String()); len(d) <= room || n == 0 {
			return string(d[:min(len(d), room)])
		}
	}
}

func round2(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 2, 64), 64)
	return v
}
func round4(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 4, 64), 64)
	return v
}
