package report

import (
	"errors"
	"fmt"
	"html/template"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"gogan/runfolder"
)

// ReportInfo is what the loop knows that the run folder does not.
type ReportInfo struct {
	Title  string // e.g. "dcgan-fashion-mnist"
	Status string // e.g. "training: step 400 of 1200", "finished", "stopped by SIGINT"
	// Live makes the page reload itself every RefreshSeconds (default 15)
	// while the run goes on; write the final report with Live false.
	Live           bool
	RefreshSeconds int
	// DueBy is when, at the latest, a live page is rewritten next: past
	// it, the page says that the run may have stopped without a word (a
	// SIGKILL, the OOM killer, its machine down), and gives the commands
	// that tell (RunsCommand) and that go on (ResumeCommand). Zero: not said.
	DueBy                      time.Time
	RunsCommand, ResumeCommand string
	// Layout says what the sample grids show (gan.VisualsLayout), under
	// their headings; "": nothing said.
	Layout string
	// EpochsDone is the epochs the run has completed: the grids of later
	// epochs are left out (a resume from an older checkpoint removes those
	// of the epochs it trains again; one it could not stays until drawn again).
	EpochsDone int
}

type reportImage struct {
	Src           string // relative to index.html, with a cache-busting query
	Caption       string
	Width, Height int // display size: small grids are scaled up by whole factors
}

type reportData struct {
	ReportInfo
	Updated     string
	DueMs       int64  // DueBy in JavaScript's milliseconds; 0: none
	Due         string // DueBy for the reader
	Latest      *reportImage
	LossPlot    *reportImage
	Epochs      []reportImage
	LastColumns []string
	LastValues  []string
	Config      string
}

// WriteReport renders RUN/index.html from what the run folder holds: the
// newest sample grid, every epoch's grid, the loss plot, the last metrics
// row and the effective config. Missing pieces are left out, so it can be
// called at any point of a run. Written atomically: a browser reloading it
// never sees half a page.
func WriteReport(r runfolder.RunDir, info ReportInfo) error {
	if info.RefreshSeconds <= 0 {
		info.RefreshSeconds = 15
	}
	d := reportData{ReportInfo: info, Updated: time.Now().Format("2006-01-02 15:04:05")}
	if info.Live && !info.DueBy.IsZero() {
		d.DueMs, d.Due = info.DueBy.UnixMilli(), info.DueBy.Format("2006-01-02 15:04:05")
	}
	var err error
	if d.Latest, err = imageEntry(r, r.LatestSamplePath(), "latest samples"); err != nil {
		return err
	}
	if d.LossPlot, err = imageEntry(r, r.LossPlotPath(), "losses"); err != nil {
		return err
	}
	eps, err := r.EpochSamples()
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for i := len(eps) - 1; i >= 0; i-- { // newest first
		if eps[i].Epoch > info.EpochsDone {
			continue
		}
		im, err := imageEntry(r, eps[i].Path, fmt.Sprintf("epoch %d", eps[i].Epoch))
		if err != nil {
			return err
		}
		if im != nil {
			d.Epochs = append(d.Epochs, *im)
		}
	}
	if m, err := runfolder.LastMetricsRow(r.MetricsPath()); err == nil {
		if len(m.Rows) > 0 {
			last := m.Rows[len(m.Rows)-1]
			d.LastColumns = m.Columns
			for i, v := range last {
				switch c := m.Columns[i]; {
				case math.IsNaN(v): // an empty cell: a loss this step has not
					d.LastValues = append(d.LastValues, "")
				case c == "step" || c == "epoch" || c == "images": // whole: 'g' made step 1234567 "1.23457e+06"
					d.LastValues = append(d.LastValues, strconv.FormatFloat(v, 'f', 0, 64))
				case c == "wall_time": // Unix seconds, as the page's other times
					d.LastValues = append(d.LastValues, time.UnixMilli(int64(math.Round(v*1000))).Format("2006-01-02 15:04:05"))
				default:
					d.LastValues = append(d.LastValues, strconv.FormatFloat(v, 'g', 6, 64))
				}
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("report: %w", err)
	}
	if y, err := os.ReadFile(r.ConfigPath()); err == nil {
		d.Config = string(y)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("report: %w", err)
	}
	return runfolder.AtomicWriteFile(r.ReportPath(), func(w io.Writer) error {
		return reportTemplate.Execute(w, d)
	})
}

// imageEntry describes an image for the page, or nil when it does not exist.
func imageEntry(r runfolder.RunDir, path, caption string) (*reportImage, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("report: %s: %w", path, err)
	}
	rel, err := filepath.Rel(r.Path, path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	scale := max(1, 512/max(cfg.Width, cfg.Height))
	return &reportImage{
		// The query changes when the file does, so a reload shows the new image.
		Src:     filepath.ToSlash(rel) + "?v=" + strconv.FormatInt(st.ModTime().UnixNano(), 36),
		Caption: caption,
		Width:   cfg.Width * scale, Height: cfg.Height * scale,
	}, nil
}

var reportTemplate = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{{if .Live}}<meta http-equiv="refresh" content="{{.RefreshSeconds}}">
{{end}}<title>{{.Title}} — gogan</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1, p { overflow-wrap: anywhere; } /* a long run name or path breaks rather than widening the page */
img { image-rendering: pixelated; border: 1px solid #ccc; max-width: 100%; height: auto; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figcaption { font-size: 0.9em; color: #555; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
pre { background: #f6f6f6; padding: 1em; overflow: auto; }
.scroll { overflow-x: auto; } /* a table wider than a phone scrolls in its place */
@media (max-width: 600px) { body { margin: 0.75em; } figure { margin: 0.5em 0; } }
.broken { color: #b00; font-weight: bold; }
img.plot { image-rendering: auto; } /* shrunk on a phone: smoothed, not thin lines dropped (tap it for full size) */
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>{{.Status}}{{if .Live}} · this page reloads every {{.RefreshSeconds}} s{{end}} · updated {{.Updated}}</p>
{{if .DueMs}}<p id="stale" class="broken" data-due="{{.DueMs}}" hidden>No update since {{.Updated}}, though one was due by {{.Due}}:
the run may have stopped without a word (killed, out of memory, its machine down).
<code>{{.RunsCommand}}</code> says whether it still runs; <code>{{.ResumeCommand}}</code> continues it from its newest checkpoint.</p>
<script>
// Past the time the trainer expected to rewrite this page by, say so.
(function () {
  var p = document.getElementById("stale");
  if (Date.now() > Number(p.dataset.due)) {
    p.hidden = false;
    document.body.dataset.stale = "yes";
  }
})();
</script>
{{end}}<p id="image-status">checking images…</p>
{{with .Latest}}<h2>Latest samples</h2>
{{if $.Layout}}<p class="layout">{{$.Layout}}</p>
{{end}}<figure><img src="{{.Src}}" width="{{.Width}}" height="{{.Height}}" alt="{{.Caption}}"><figcaption>{{.Caption}}</figcaption></figure>
{{end}}{{with .LossPlot}}<h2>Losses</h2>
<figure><a href="{{.Src}}"><img class="plot" src="{{.Src}}" width="{{.Width}}" height="{{.Height}}" alt="{{.Caption}}"></a></figure>
{{end}}{{if .LastColumns}}<h2>Last metrics row</h2>
<div class="scroll"><table><tr>{{range .LastColumns}}<th>{{.}}</th>{{end}}</tr>
<tr>{{range .LastValues}}<td>{{.}}</td>{{end}}</tr></table></div>
{{end}}{{if .Epochs}}<h2>Samples by epoch</h2>
{{if .Layout}}<p class="layout">{{.Layout}}</p>
{{end}}{{range .Epochs}}<figure><img src="{{.Src}}" width="{{.Width}}" height="{{.Height}}" alt="{{.Caption}}"><figcaption>{{.Caption}}</figcaption></figure>
{{end}}{{end}}{{if .Config}}<h2>Effective config</h2>
<pre>{{.Config}}</pre>
{{end}}<script>
// Mark each image loaded or broken (tests read this back) and tell the reader of broken ones.
window.addEventListener("load", function () {
  var imgs = document.querySelectorAll("img"), broken = [];
  imgs.forEach(function (img) {
    var ok = img.complete && img.naturalWidth > 0;
    img.dataset.state = ok ? "loaded" : "broken";
    img.dataset.naturalWidth = img.naturalWidth;
    if (!ok) broken.push(img.getAttribute("src"));
  });
  var s = document.getElementById("image-status");
  s.textContent = broken.length ? "broken images: " + broken.join(", ") : ""; // all shown: nothing to say
  s.className = broken.length ? "broken" : "";
  document.body.dataset.images = broken.length ? "broken" : "ok";
});
</script>
</body>
</html>
`))
