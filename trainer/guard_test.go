package trainer

import (
	"bytes"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
)

func TestCheckFinite(t *testing.T) {
	if err := CheckFinite(map[string]float64{"D": 0.5, "G": -3}, 7); err != nil {
		t.Fatal(err)
	}
	err := CheckFinite(map[string]float64{"D_real": 0.5, "G_GAN": math.NaN(), "G_L1": math.Inf(1)}, 1234)
	var nf *NonFiniteError
	if !errors.As(err, &nf) || nf.Name != "G_GAN" || nf.Step != 1234 {
		t.Fatalf("%v", err)
	}
	for _, s := range []string{"loss G_GAN is NaN at step 1234", "G_L1=+Inf", "D_real=0.5"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q lacks %q", err, s)
		}
	}
	err = CheckFinite(map[string]float64{"D": math.Inf(-1)}, 3)
	if err == nil || !strings.Contains(err.Error(), "loss D is -Inf at step 3") {
		t.Fatalf("%v", err)
	}
}

// captureLogs sends slog's output to a buffer for the rest of the test.
func captureLogs(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return &buf
}
