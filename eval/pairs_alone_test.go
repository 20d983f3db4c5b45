package eval

import (
	"context"
	"math"
	"slices"
	"testing"
)

// TestEvalPix2PixTrainModeScoresEachPairAlone: --mode train is test.py's
// default, batch 1 with G in train mode, so a pair's output comes from its
// own BatchNorm statistics: the scores of 5 pairs are the means of each
// pair's scores alone (L1 over equal-sized images too). A G without dropout,
// so that train mode draws nothing. Eval mode, where batches of 16 share
// nothing, holds the same.
func TestEvalPix2PixTrainModeScoresEachPairAlone(t *testing.T) {
	ctx := context.Background()
	p2p := evalCheckpoint(t, append(slices.Clone(pix2pixSets), "model.no_dropout=true")...)
	for _, mode := range []string{"train", "eval"} {
		score := func(skip, limit int) Pix2PixScores {
			t.Helper()
			ev, err := EvalPix2Pix(ctx, Pix2PixEvalOptions{Checkpoint: p2p, Skip: skip, Limit: limit, Mode: mode, Device: "cpu", Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			return ev.Generators[0].Scores[0]
		}
		all := score(0, 5)
		var mean Pix2PixScores
		for i := range 5 {
			one := score(i, 1)
			mean.L1 += one.L1 / 5
			mean.PSNR += one.PSNR / 5
			mean.SSIM += one.SSIM / 5
		}
		t.Logf("--mode %s: 5 pairs %+v; each alone, averaged %+v", mode, all, mean)
		for _, c := range []struct {
			name      string
			all, mean float64
		}{{"L1", all.L1, mean.L1}, {"PSNR", all.PSNR, mean.PSNR}, {"SSIM", all.SSIM, mean.SSIM}} {
			if all.N != 5 || math.Abs(c.all-c.mean) > 1e-12+1e-9*math.Abs(c.mean) {
				t.Errorf("--mode %s: %s of %d pairs %.12g, the mean of each pair's alone %.12g", mode, c.name, all.N, c.all, c.mean)
			}
		}
	}
}
