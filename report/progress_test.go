package report

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(ProgressOptions{Total: 200, Start: 100, Writer: &buf, Label: "dcgan"})
	for s := 101; s <= 150; s++ {
		p.Update(s, 1, 512.5, map[string]float64{"G": 1.23456, "D": 0.5})
		time.Sleep(3 * time.Millisecond)
	}
	p.Finish()
	out := buf.String()
	// Finish draws the last step even when the redraw interval had not passed.
	last := out[strings.LastIndex(out, "\r"):]
	for _, s := range []string{"dcgan | ", "(150/200)", "D 0.5 G 1.235 ", "| 512.5 img/s", "| ETA "} {
		if !strings.Contains(last, s) {
			t.Errorf("final bar lacks %q: %q", s, last)
		}
	}
	if !strings.HasSuffix(out, "\n") {
		t.Error("bar line not ended")
	}
}

// TestProgressDrawsEachStepOnce: every frame the bar draws pairs a step
// with its own losses. The bar's Describe draws at once, so setting the
// description before the count drew "(0/12) ... Loss_D 1.375", step 1's
// losses beside step 0, before "(1/12)" with the same.
func TestProgressDrawsEachStepOnce(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(ProgressOptions{Total: 12, Writer: &buf, Label: "dcgan", Order: []string{"Loss_D"}})
	for s := 1; s <= 3; s++ {
		p.Update(s, 1, 10, map[string]float64{"Loss_D": float64(s) + 0.375})
		time.Sleep(barInterval + 10*time.Millisecond)
	}
	p.Finish()
	var frames []string
	for _, f := range strings.Split(buf.String(), "\r") {
		if f = strings.TrimSpace(f); f != "" {
			frames = append(frames, f)
		}
	}
	for _, f := range frames {
		for s := 0; s <= 3; s++ {
			if strings.Contains(f, fmt.Sprintf("(%d/12)", s)) && strings.Contains(f, "Loss_D") && !strings.Contains(f, fmt.Sprintf("Loss_D %g ", float64(s)+0.375)) {
				t.Errorf("frame %q: step %d beside another step's losses; all frames:\n%s", f, s, strings.Join(frames, "\n"))
			}
		}
	}
	if len(frames) == 0 || !strings.Contains(frames[0], "(0/12) dcgan") {
		t.Errorf("the first frame: %q, want step 0 with the label alone", frames)
	}
}

func TestProgressETA(t *testing.T) {
	p := NewProgress(ProgressOptions{Total: 200, Start: 100, Quiet: true})
	p.begin = time.Now().Add(-10 * time.Second)
	// 50 steps since the resume took 10 s, so the other 50 take 10 s; a
	// pace counted from step 0 would say 3.3 s.
	if eta := p.eta(150); eta < 9*time.Second || eta > 11*time.Second {
		t.Fatalf("eta %v, want 10s", eta)
	}
	// 50 steps in 100 s: 2 s a step, 50 steps left, none at the last step
	p.begin = time.Now().Add(-100 * time.Second)
	if eta := p.eta(150); eta != 100*time.Second {
		t.Fatalf("eta %v after 50 steps of 2 s, want 1m40s", eta)
	}
	if eta := p.eta(200); eta != 0 {
		t.Fatalf("eta %v at the last step", eta)
	}
	if eta := p.eta(100); eta != -1 {
		t.Fatalf("eta before any step: %v", eta)
	}
	if eta := NewProgress(ProgressOptions{Quiet: true}).eta(5); eta != -1 {
		t.Fatalf("eta without a total: %v", eta)
	}
}

func TestProgressQuiet(t *testing.T) {
	var logs bytes.Buffer
	var bar bytes.Buffer
	p := NewProgress(ProgressOptions{Total: 95, Quiet: true, LogEvery: 20, Writer: &bar,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Label: "pix2pix"})
	for s := 1; s <= 95; s++ {
		p.Update(s, 1, 10, map[string]float64{"G_L1": 12.345678, "D_real": 0.25})
	}
	p.Finish()
	if bar.Len() != 0 {
		t.Fatalf("quiet mode drew a bar: %q", bar.String())
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	// steps 20, 40, 60, 80 and the last one
	if len(lines) != 5 {
		t.Fatalf("%d log lines:\n%s", len(lines), logs.String())
	}
	for _, s := range []string{`msg="pix2pix progress"`, "step=20", "total=95", "images_per_s=10", "D_real=0.25", "G_L1=12.35", "eta="} {
		if !strings.Contains(lines[0], s) {
			t.Errorf("log line lacks %q: %s", s, lines[0])
		}
	}
	if !strings.Contains(lines[4], "step=95") || !strings.Contains(lines[4], "eta=0s") {
		t.Errorf("last line: %s", lines[4])
	}
}

// TestProgressFitsTheTerminal: on a terminal of 60 columns every frame
// fits a row, its bar narrowed beside the losses (the bar, writing
// through Progress's muted writer, cannot see the terminal itself); where
// the width is unknown the bar is barMax wide.
func TestProgressFitsTheTerminal(t *testing.T) {
	for _, cols := range []int{60, 0} {
		var buf bytes.Buffer
		p := NewProgress(ProgressOptions{Total: 1000, Writer: &buf, Label: "pix2pix", Order: []string{"G_GAN", "G_L1", "D_real", "D_fake"}})
		if cols > 0 {
			p.cols = func() int { return cols }
		}
		for s := 1; s <= 2; s++ {
			p.Update(s, 1, 12.5, map[string]float64{"G_GAN": 1.25, "G_L1": 20.5, "D_real": 0.75, "D_fake": 0.5})
			time.Sleep(barInterval + 10*time.Millisecond)
		}
		p.Finish()
		for _, f := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\r") {
			f = strings.TrimRight(f, " ")
			if !strings.Contains(f, "(2/1000)") {
				continue
			}
			bar := strings.Count(strings.SplitN(f, "|", 3)[1], "") - 1
			if w := utf8.RuneCountInString(f); cols > 0 && (w >= cols || bar >= barMax) || cols == 0 && bar != barMax {
				t.Errorf("%d columns: frame %q is %d wide, its bar %d", cols, f, w, bar)
			}
		}
	}
}
