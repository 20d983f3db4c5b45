package runfolder

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// FuzzValidateCheckpoint feeds state.json files to the checkpoint validator,
// beside a real weights file: any bytes give a state consistent with the
// checkpoint, or an error that names the file at fault.
func FuzzValidateCheckpoint(f *testing.F) {
	run := f.TempDir()
	c, err := WriteCheckpoint(run, CheckpointState{
		Epoch: 3, Step: 40, Seed: 999,
		RNG:      map[string][]byte{"cpu": {1, 2, 3, 0, 255}, "cuda:0": {9}},
		Schedule: json.RawMessage(`{"policy":"linear","last_epoch":3}`),
		Loader:   json.RawMessage(`{"epoch":1,"batch":17}`),
		Config:   "recipe: dcgan\ntrain:\n  lr: 0.0002\n",
		Metrics:  CheckpointMetrics{Last: map[string]float64{"G": 1.5}, Best: map[string]float64{"fid": 30}},
	}, weightsOf(bytes.Repeat([]byte("weights"), 100)))
	if err != nil {
		f.Fatal(err)
	}
	hashed, err := os.ReadFile(c.StatePath())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(hashed)
	// The fields' own checks, on a format 1 file (no hash of its own to
	// catch the edits first).
	good := legacyState(f, c)
	f.Add(good)
	for _, edit := range [][3]string{
		{`"step": 40`, `"step": 41`, "step 41 does not match the folder name (step 40)"},
		{`"epoch": 3`, `"epoch": -3`, "negative step 40 or epoch -3"},
		{`"format": 1`, `"format": 3`, "format 3 (a newer gogan's checkpoint format), written by gogan "},
		{`"format": 1`, `"format": 0`, "unknown format 0"},
		{`"format": 1`, `"format": 2`, "no state_sha256"},
		{`"weights_size": 700`, `"weights_size": -1`, "negative weights_size -1"},
		{`"weights_sha256": "`, `"weights_sha256": "zz`, "weights_sha256 is not a hex SHA-256 (66 characters)"},
		{`"seed": 999`, `"seed": 1e400`, "cannot unmarshal number 1e400"},
	} {
		bad := bytes.Replace(good, []byte(edit[0]), []byte(edit[1]), 1)
		if err := os.WriteFile(c.StatePath(), bad, 0o644); err != nil {
			f.Fatal(err)
		}
		if _, err := ValidateCheckpoint(c); err == nil || !strings.Contains(err.Error(), c.StatePath()+": ") || !strings.Contains(err.Error(), edit[2]) {
			f.Errorf("%s: error %v should name the file and say %q", edit[1], err, edit[2])
		}
		f.Add(bad)
	}
	f.Add([]byte(`{"format": 1, "step": 40}`))
	f.Add([]byte("null"))
	f.Fuzz(func(t *testing.T, js []byte) {
		if err := os.WriteFile(c.StatePath(), js, 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := ValidateCheckpoint(c)
		if err != nil {
			if msg := err.Error(); !strings.Contains(msg, c.StatePath()) && !strings.Contains(msg, c.WeightsPath()) {
				t.Fatalf("error %q names neither %s nor %s", msg, c.StatePath(), c.WeightsPath())
			}
			return
		}
		if (st.Format != stateFormatV1 && st.Format != stateFormatV2) || st.Step != c.Step || st.Epoch < 0 || st.WeightsSize != 700 {
			t.Fatalf("accepted state: format %d, step %d, epoch %d, weights size %d", st.Format, st.Step, st.Epoch, st.WeightsSize)
		}
	})
}
