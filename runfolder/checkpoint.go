package runfolder

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gogan/config"
	"gogan/data"
)

// Version is gogan's version, recorded in checkpoints: set at link time
// with -ldflags "-X gogan/runfolder.Version=...", or else the commit go
// build stamped into the binary ("-dirty" when the tree had changes), or
// "dev" (go test, go run).
var Version = "dev"

func init() {
	bi, ok := debug.ReadBuildInfo()
	if Version != "dev" || !ok {
		return
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" {
		Version = rev[:min(12, len(rev))] + dirty
	}
}

// Checkpoint layout inside a run folder:
//
//	RUN/checkpoints/step-00001234/weights.safetensors
//	RUN/checkpoints/step-00001234/state.json
const (
	CheckpointsDir = "checkpoints"
	WeightsFile    = "weights.safetensors"
	StateFile      = "state.json"
	checkpointPref = "step-"
	checkpointTmp  = ".tmp-"
	checkpointOld  = ".old-"
	invalidPref    = "invalid-"
	// Format 1 state.json files (written before December 2026) have no
	// state_sha256 and are read unchecked; format 2 ones must carry it.
	stateFormatV1   = 1
	stateFormatV2   = 2
	checkpointWidth = 8
)

// ErrNoCheckpoint means a run folder has no valid checkpoint to resume from.
var ErrNoCheckpoint = errors.New("no valid checkpoint")

// ErrNewerFormat is a state.json of a format after the ones this gogan
// reads: a newer gogan's checkpoint (a run trained elsewhere, read here by
// an older binary), not a damaged one.
var ErrNewerFormat = errors.New("a newer gogan's checkpoint format")

// CheckpointState is state.json: everything besides the tensors that a
// resumed run needs to continue exactly where the stopped one was.
type CheckpointState struct {
	Format int   `json:"format"`
	Epoch  int   `json:"epoch"` // the loop's epoch counter when saved
	Step   int   `json:"step"`  // optimizer steps completed
	Seed   int64 `json:"seed"`
	// RNG holds opaque generator states by name, e.g. "cpu", "cuda:0",
	// "loader"; torch's get_state bytes go here unchanged (base64 in JSON).
	RNG map[string][]byte `json:"rng,omitempty"`
	// Schedule is the LR scheduler's state (its own JSON).
	Schedule json.RawMessage `json:"schedule,omitempty"`
	// Loader is the data loader's position: epoch permutation, batch index.
	Loader  json.RawMessage   `json:"loader,omitempty"`
	Config  string            `json:"config"` // effective config as YAML
	Metrics CheckpointMetrics `json:"metrics"`
	// Threads is the libtorch intra-op thread count a CPU run's steps ran
	// with (threads: 0 resolved to the cores); 0: a GPU run, or unrecorded.
	// libtorch's CPU kernels (Conv2d's weight gradient) sum in per-thread
	// parts, so another count rounds otherwise and the run drifts.
	Threads int `json:"threads,omitempty"`

	WeightsSHA256 string    `json:"weights_sha256"` // hex; filled by WriteCheckpoint
	WeightsSize   int64     `json:"weights_size"`
	GoganVersion  string    `json:"gogan_version"`
	SavedAt       time.Time `json:"saved_at"`
	// StateSHA256 is the SHA-256 of state.json itself, taken with this
	// field's value empty (""): a flipped bit anywhere in the file, which
	// would otherwise be trusted (an epoch, a generator state), is caught.
	StateSHA256 string `json:"state_sha256"`
}

// stateHashField matches the state's own hash in state.json's bytes, as
// json.MarshalIndent writes it. Quotes inside string values are escaped, so
// it cannot match inside one.
var stateHashField = regexp.MustCompile(`"state_sha256": "([0-9a-f]*)"`)

// stateHash is the SHA-256 of state.json's bytes with its own hash's value
// blanked.
func stateHash(js []byte, loc []int) string {
	h := sha256.New()
	h.Write(js[:loc[2]])
	h.Write(js[loc[3]:])
	return hex.EncodeToString(h.Sum(nil))
}

// CheckpointMetrics carries metric values across a resume, e.g. the best
// validation score so far and the losses of the last logged step.
type CheckpointMetrics struct {
	Best map[string]float64 `json:"best,omitempty"`
	Last map[string]float64 `json:"last,omitempty"`
}

// Checkpoint is one checkpoint directory of a run.
// InitialNetsKey is the weights' metadata key that names, comma-separated,
// the networks an import was given no file for: their weights are the
// initial random ones (translate and serve warn when they run one).
const InitialNetsKey = "initial_nets"

type Checkpoint struct {
	Dir  string
	Step int
}

// WeightsPath is the safetensors file of the checkpoint.
func (c Checkpoint) WeightsPath() string { return filepath.Join(c.Dir, WeightsFile) }

// StatePath is the state.json file of the checkpoint.
func (c Checkpoint) StatePath() string { return filepath.Join(c.Dir, StateFile) }

// Removed explains an error reading the checkpoint's files after it was
// validated: a run still training prunes its older checkpoints
// (train.keep_checkpoints) while another command reads one. Other errors
// come back as they are.
func (c Checkpoint) Removed(err error) error {
	if err != nil && errors.Is(err, os.ErrNotExist) {
		return &removedError{dir: c.Dir, err: err}
	}
	return err
}

// ErrRemoved matches (errors.Is) the errors of checkpoints removed while
// they were read.
var ErrRemoved = errors.New("checkpoint removed while read")

type removedError struct {
	dir string
	err error
}

func (e *removedError) Error() string {
	return fmt.Sprintf("checkpoint %s was removed while it was read (a run still training removes its older checkpoints, train.keep_checkpoints): run the command again: %v", e.dir, e.err)
}
func (e *removedError) Unwrap() error        { return e.err }
func (e *removedError) Is(target error) bool { return target == ErrRemoved }

// RunOf is the run folder of a checkpoint folder RUN/checkpoints/step-N,
// or false for a checkpoint folder kept elsewhere.
func RunOf(ckDir string) (string, bool) {
	abs, err := filepath.Abs(ckDir)
	if err != nil {
		abs = filepath.Clean(ckDir)
	}
	if ckpts := filepath.Dir(abs); filepath.Base(ckpts) == CheckpointsDir {
		return filepath.Dir(ckpts), true
	}
	return "", false
}

// CheckpointDir is where the checkpoint of a step lives.
func CheckpointDir(run string, step int) string {
	return filepath.Join(run, CheckpointsDir, fmt.Sprintf("%s%0*d", checkpointPref, checkpointWidth, step))
}

type countingHash struct {
	h hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.n += int64(len(p))
	return len(p), nil
}

// exchange is renameExchange; a test takes the path of a filesystem
// without it (NFS, some FUSE ones) by setting it to one that fails.
var exchange = renameExchange

// setAsideName is where a rewrite of final moves the old folder while the
// new one takes its name, on a filesystem without exchange.
func setAsideName(final string) string {
	return filepath.Join(filepath.Dir(final), checkpointOld+filepath.Base(final)+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
}

// RestoreSetAside puts back each checkpoint a rewrite moved aside where a
// crash came before the new one took its name (possible only without
// exchange), so that a resume finds it again rather than an older one, and
// PruneCheckpoints does not delete it as a leftover. It returns the
// folders put back.
func RestoreSetAside(run string) ([]string, error) {
	root := filepath.Join(run, CheckpointsDir)
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoints %s: %w", root, err)
	}
	// the newest set-aside copy of each step: the last one written
	newest := map[string]string{}
	for _, e := range ents {
		final, _, ok := setAsideOf(e)
		if !ok {
			continue
		}
		if prev, seen := newest[final]; !seen || stampOf(e.Name()) > stampOf(prev) {
			newest[final] = e.Name()
		}
	}
	var back []string
	var errs []error
	for final, old := range newest {
		dst := filepath.Join(root, final)
		if _, err := os.Lstat(dst); !errors.Is(err, os.ErrNotExist) {
			continue // the new one took its name: the old one is a leftover
		}
		if err := os.Rename(filepath.Join(root, old), dst); err != nil {
			errs = append(errs, fmt.Errorf("put back checkpoint %s: %w", dst, err))
			continue
		}
		back = append(back, dst)
	}
	if len(back) > 0 {
		if err := syncDir(root); err != nil {
			errs = append(errs, err)
		}
	}
	sort.Strings(back)
	return back, errors.Join(errs...)
}

// setAsideOf says whether e is a folder a rewrite moved aside
// (setAsideName), and the checkpoint folder and step it was.
func setAsideOf(e os.DirEntry) (final string, step int, ok bool) {
	rest, ok := strings.CutPrefix(e.Name(), checkpointOld)
	i := strings.LastIndexByte(rest, '-')
	if !ok || !e.IsDir() || i < 0 {
		return "", 0, false
	}
	final = rest[:i]
	num, ok := strings.CutPrefix(final, checkpointPref)
	step, err := strconv.Atoi(num)
	return final, step, ok && err == nil
}

// stampOf is the time a set-aside folder's name ends with.
func stampOf(name string) int64 {
	n, _ := strconv.ParseInt(name[strings.LastIndexByte(name, '-')+1:], 36, 64)
	return n
}

// WriteCheckpoint writes RUN/checkpoints/step-N atomically: both files go
// into a temp directory, are fsynced, and the directory is renamed into
// place, so a crash leaves either no step-N or a complete one. st.Step
// names the directory; WriteCheckpoint fills in the weights' SHA-256 and
// size, the format, the version and the time. weights writes the
// safetensors bytes. An existing checkpoint of the same step is replaced.
// The run folder must exist (only checkpoints/ is made in it).
func WriteCheckpoint(run string, st CheckpointState, weights func(io.Writer) error) (Checkpoint, error) {
	if st.Step < 0 {
		return Checkpoint{}, fmt.Errorf("write checkpoint: negative step %d", st.Step)
	}
	// checkpoints/ alone: a run folder moved or deleted while it trains is
	// not made again at its old path, empty but for this checkpoint.
	root := filepath.Join(run, CheckpointsDir)
	if err := os.Mkdir(root, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return Checkpoint{}, fmt.Errorf("write checkpoint: %w", err)
	}
	final := CheckpointDir(run, st.Step)
	tmp, err := os.MkdirTemp(root, checkpointTmp+filepath.Base(final)+"-")
	if err != nil {
		return Checkpoint{}, fmt.Errorf("write checkpoint: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return Checkpoint{}, fmt.Errorf("write checkpoint: %w", err)
	}

	ch := &countingHash{h: sha256.New()}
	if err := writeSynced(filepath.Join(tmp, WeightsFile), func(w io.Writer) error {
		return weights(io.MultiWriter(w, ch))
	}); err != nil {
		return Checkpoint{}, fmt.Errorf("write checkpoint step %d: weights: %w", st.Step, err)
	}
	st.Format = stateFormatV2
	st.WeightsSHA256 = hex.EncodeToString(ch.h.Sum(nil))
	st.WeightsSize = ch.n
	if st.GoganVersion == "" {
		st.GoganVersion = Version
	}
	if st.SavedAt.IsZero() {
		st.SavedAt = time.Now().UTC()
	}
	st.StateSHA256 = ""
	js, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return Checkpoint{}, fmt.Errorf("write checkpoint step %d: state: %w", st.Step, err)
	}
	js = append(js, '\n')
	loc := stateHashField.FindSubmatchIndex(js)
	if loc == nil {
		return Checkpoint{}, fmt.Errorf("write checkpoint step %d: state: no state_sha256 field", st.Step)
	}
	js = slices.Concat(js[:loc[2]], []byte(stateHash(js, loc)), js[loc[3]:])
	if err := writeSynced(filepath.Join(tmp, StateFile), func(w io.Writer) error {
		_, err := w.Write(js)
		return err
	}); err != nil {
		return Checkpoint{}, fmt.Errorf("write checkpoint step %d: state: %w", st.Step, err)
	}
	if err := syncDir(tmp); err != nil {
		return Checkpoint{}, fmt.Errorf("write checkpoint step %d: %w", st.Step, err)
	}

	// rename(2) cannot replace a non-empty directory. Where the file system
	// can, swap the two in one step: a reader (translate, serve) or a crash
	// never finds step-N missing. tmp then holds the old one.
	if _, err := os.Stat(final); err == nil && exchange(tmp, final) == nil {
		if err := syncDir(root); err != nil {
			return Checkpoint{}, fmt.Errorf("write checkpoint step %d: %w", st.Step, err)
		}
		return Checkpoint{Dir: final, Step: st.Step}, nil // the deferred RemoveAll takes the old one
	}
	// Otherwise move the old one aside first, and only delete it once the
	// new one is in place.
	var old string
	if _, err := os.Stat(final); err == nil {
		old = setAsideName(final)
		if err := os.Rename(final, old); err != nil {
			return Checkpoint{}, fmt.Errorf("write checkpoint step %d: %w", st.Step, err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		if old != "" {
			os.Rename(old, final)
		}
		return Checkpoint{}, fmt.Errorf("write checkpoint step %d: %w", st.Step, err)
	}
	ok = true
	if err := syncDir(root); err != nil {
		return Checkpoint{}, fmt.Errorf("write checkpoint step %d: %w", st.Step, err)
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return Checkpoint{Dir: final, Step: st.Step}, nil
}

// writeSynced creates path, writes it through a buffer and fsyncs it.
func writeSynced(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ListCheckpoints returns the run's checkpoint directories, newest (highest
// step) first, without validating them. Temp and leftover directories of
// interrupted writes are not listed.
func ListCheckpoints(run string) ([]Checkpoint, error) {
	root := filepath.Join(run, CheckpointsDir)
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	var out []Checkpoint
	for _, e := range ents {
		num, ok := strings.CutPrefix(e.Name(), checkpointPref)
		if !ok || !e.IsDir() {
			continue
		}
		step, err := strconv.Atoi(num)
		if err != nil || step < 0 {
			continue
		}
		out = append(out, Checkpoint{Dir: filepath.Join(root, e.Name()), Step: step})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Step > out[j].Step })
	return out, nil
}

// PruneCheckpoints keeps the newest keep checkpoints up to step upTo (keep
// <= 0 keeps all), and the older ones spare (if not nil) says to keep, and
// removes leftovers of interrupted writes (after RestoreSetAside). Folders of
// later steps (none but the session's own are there: SetAsideNewer moved
// the invalid ones a resumed run found) are neither counted nor removed, so
// a stray or damaged folder numbered ahead of the run cannot make it delete
// the checkpoint it just wrote.
func PruneCheckpoints(run string, keep, upTo int, spare func(Checkpoint) bool) error {
	// First, or a set-aside copy of a checkpoint pruned here would be put
	// back as one; where one cannot be put back, nothing is removed (it may
	// be the only copy of its step).
	if _, err := RestoreSetAside(run); err != nil {
		return err
	}
	cks, err := ListCheckpoints(run)
	if err != nil {
		return err
	}
	cks = slices.DeleteFunc(cks, func(c Checkpoint) bool { return c.Step > upTo })
	if spare != nil && keep > 0 && len(cks) > keep {
		// the newest keep are kept anyway; only the older are asked
		cks = append(cks[:keep], slices.DeleteFunc(cks[keep:], spare)...)
	}
	var errs []error
	if keep > 0 && len(cks) > keep {
		for _, c := range cks[keep:] {
			if err := os.RemoveAll(c.Dir); err != nil {
				errs = append(errs, fmt.Errorf("prune checkpoint: %w", err))
			}
		}
	}
	root := filepath.Join(run, CheckpointsDir)
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), checkpointTmp) || strings.HasPrefix(e.Name(), checkpointOld) {
			if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
				errs = append(errs, fmt.Errorf("prune checkpoint: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// SetAsideNewer renames the checkpoint folders of steps after step (the
// ones a resume skipped as invalid) to checkpoints/invalid-step-N, where
// they are no longer listed, pruned or replaced by the resumed run's
// checkpoints of the same steps: nothing of them is deleted. So go the
// copies of those steps a rewrite moved aside (invalid-old-step-N-...),
// which RestoreSetAside would otherwise put back ahead of the resumed run.
// It returns the new paths.
func SetAsideNewer(run string, step int) ([]string, error) {
	cks, err := ListCheckpoints(run)
	if err != nil {
		return nil, err
	}
	dirs := []string{}
	for _, c := range cks {
		if c.Step <= step {
			break
		}
		dirs = append(dirs, c.Dir)
	}
	root := filepath.Join(run, CheckpointsDir)
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if _, n, ok := setAsideOf(e); ok && n > step {
			dirs = append(dirs, filepath.Join(root, e.Name()))
		}
	}
	var moved []string
	for _, dir := range dirs {
		name := strings.TrimPrefix(filepath.Base(dir), ".")
		dst := filepath.Join(root, invalidPref+name)
		for i := 2; ; i++ {
			if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
				break
			}
			dst = filepath.Join(root, fmt.Sprintf("%s%s-%d", invalidPref, name, i))
		}
		if err := os.Rename(dir, dst); err != nil {
			return moved, fmt.Errorf("set aside invalid checkpoint: %w", err)
		}
		moved = append(moved, dst)
	}
	if len(moved) > 0 {
		if err := syncDir(filepath.Join(run, CheckpointsDir)); err != nil {
			return moved, fmt.Errorf("set aside invalid checkpoint: %w", err)
		}
	}
	return moved, nil
}

// ValidateCheckpoint reads state.json and checks that weights.safetensors
// has the recorded size and SHA-256 and that the step matches the folder.
// Errors name the file at fault.
func ValidateCheckpoint(c Checkpoint) (*CheckpointState, error) {
	js, err := os.ReadFile(c.StatePath())
	if err != nil {
		return nil, err
	}
	st, err := parseState(c.StatePath(), js, c.Step)
	if err != nil {
		return nil, err
	}
	weights := c.WeightsPath()
	f, err := os.Open(weights)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() != st.WeightsSize {
		return nil, fmt.Errorf("%s: size %d, want %d (truncated or overwritten)", weights, fi.Size(), st.WeightsSize)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("%s: %w", weights, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != st.WeightsSHA256 {
		return nil, fmt.Errorf("%s: SHA-256 %s, want %s (corrupted)", weights, got[:12], st.WeightsSHA256[:12])
	}
	return st, nil
}

// parseState decodes state.json's bytes and checks what it says of the
// checkpoint of the given step; path names the file in errors.
func parseState(path string, js []byte, step int) (*CheckpointState, error) {
	var st CheckpointState
	if err := json.Unmarshal(js, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch st.Format {
	case stateFormatV1:
	case stateFormatV2:
		locs := stateHashField.FindAllSubmatchIndex(js, -1)
		if len(locs) != 1 || locs[0][3]-locs[0][2] != 2*sha256.Size {
			return nil, fmt.Errorf("%s: no state_sha256 of the file (damaged)", path)
		}
		if got, want := stateHash(js, locs[0]), string(js[locs[0][2]:locs[0][3]]); got != want {
			return nil, fmt.Errorf("%s: SHA-256 %s, want %s (corrupted or edited)", path, got[:12], want[:12])
		}
	default:
		if st.Format > stateFormatV2 {
			return nil, fmt.Errorf("%s: format %d (%w), written by %s; this gogan (%s) reads formats %d and %d",
				path, st.Format, ErrNewerFormat, WrittenBy(&st), Version, stateFormatV1, stateFormatV2)
		}
		return nil, fmt.Errorf("%s: unknown format %d", path, st.Format)
	}
	if st.Step != step {
		return nil, fmt.Errorf("%s: step %d does not match the folder name (step %d)", path, st.Step, step)
	}
	if st.Step < 0 || st.Epoch < 0 {
		return nil, fmt.Errorf("%s: negative step %d or epoch %d", path, st.Step, st.Epoch)
	}
	if b, err := hex.DecodeString(st.WeightsSHA256); err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("%s: weights_sha256 is not a hex SHA-256 (%d characters)", path, len(st.WeightsSHA256))
	}
	if st.WeightsSize < 0 {
		return nil, fmt.Errorf("%s: negative weights_size %d", path, st.WeightsSize)
	}
	return &st, nil
}

// LatestValid returns the newest checkpoint that validates. Each newer one
// that does not is skipped with a warning that names it and says why.
// It returns ErrNoCheckpoint when none is valid (or none exists). A
// checkpoint this user may not read (a folder copied by root, its files
// 0600) is not skipped: nothing says it is damaged, and a resume would go
// on from an older one, setting it aside as invalid; the error names the
// file and says what to do.
func LatestValid(run string) (Checkpoint, *CheckpointState, error) {
	cks, err := ListCheckpoints(run)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	for _, c := range cks {
		st, err := ValidateCheckpoint(c)
		if err == nil {
			return c, st, nil
		}
		if errors.Is(err, os.ErrPermission) {
			return Checkpoint{}, nil, fmt.Errorf("checkpoint %s cannot be read: %w: give this user read access to it (chown or chmod; it is not skipped as damaged) or run as its owner, and run again", c.Dir, err)
		}
		if errors.Is(err, ErrNewerFormat) {
			// Skipped, a resume would go on from an older checkpoint and set
			// this one aside: the newer gogan's training lost from view.
			return Checkpoint{}, nil, fmt.Errorf("checkpoint %s cannot be read by this gogan: %w: run that gogan (or a newer one; gogan --version says which this is), which reads it; "+
				"if no newer gogan wrote it, it is damaged: move it out of %s to go on from the one before", c.Dir, err, filepath.Dir(c.Dir))
		}
		slog.Warn("skipping invalid checkpoint", "checkpoint", c.Dir, "err", err)
	}
	if len(cks) > 0 {
		return Checkpoint{}, nil, fmt.Errorf("%s: %s, none valid: %w", run, data.Count(len(cks), "checkpoint"), ErrNoCheckpoint)
	}
	return Checkpoint{}, nil, fmt.Errorf("%s: %w", run, ErrNoCheckpoint)
}

// WrittenBy names the gogan that wrote a checkpoint's state, for messages.
func WrittenBy(st *CheckpointState) string {
	if st.GoganVersion == "" {
		return "a gogan that recorded no version"
	}
	return "gogan " + st.GoganVersion
}

// UnreadableConfig says, of checkpoint ck whose config this gogan cannot
// read (err), which gogan wrote it and what to do. Keys this gogan does
// not know are a newer gogan's: run it. A value this gogan refuses is
// refused by this gogan's own rules (tightened since an older gogan wrote
// it, or lifted by a newer one): a resume takes the key's value from --set
// or config.yaml, and the gogan that wrote it reads it as it is. One this
// very gogan wrote (its state.json is checksummed, so not damaged) is
// gogan's own fault, not the user's: running "that gogan" would not help.
// resuming is whether the command is a resume.
func UnreadableConfig(ck Checkpoint, st *CheckpointState, err error, resuming bool) string {
	if st.GoganVersion == Version {
		return fmt.Sprintf("the checkpoint was written by this gogan (%s), which cannot read its config back: a gogan bug; please report it with the checkpoint's state.json", Version)
	}
	who := fmt.Sprintf("%s (this gogan is %s)", WrittenBy(st), Version)
	older := st.Format < stateFormatV2 // the state formats only grow
	if older {
		who += fmt.Sprintf(", an older gogan (state format %d)", st.Format)
	}
	if config.OnlyUnknownKeys(err) {
		if older {
			return fmt.Sprintf("the checkpoint was written by %s, whose config has keys this gogan no longer reads: run that gogan", who)
		}
		return fmt.Sprintf("the checkpoint was written by %s, whose config has keys this gogan does not know (a newer gogan's): run that gogan, or a newer one", who)
	}
	rule := "a rule of this gogan's that " + WrittenBy(st) + " did not apply (one tightened since it, or one it lifted, if it is the newer)"
	if older {
		rule = "a rule of this gogan's tightened since"
	}
	run, ok := RunOf(ck.Dir)
	if !ok {
		run = "RUN"
	}
	// A resume writes checkpoints only as it trains: one of a finished run
	// (sample's, translate's, export's usual case) needs a step more.
	next := ck.Step + 1
	if cks, _ := ListCheckpoints(run); len(cks) > 0 {
		next = max(next, cks[0].Step+1)
	}
	fix := fmt.Sprintf("resume the run with this gogan, giving the key a value it takes (gogan resume %s --set KEY=VALUE; a finished run's resume writes a checkpoint only as it trains on, so raise its end too: --set train.max_steps=%d, or train.epochs where its epochs end it), and use the checkpoint that resume writes; or run that gogan, which reads the config as it is", run, next)
	if resuming {
		fix = fmt.Sprintf("give the key a value this gogan takes by --set KEY=VALUE on this resume (or in %s) and resume again; or run that gogan, which reads the config as it is", RunDir{Path: run}.ConfigPath())
	}
	return fmt.Sprintf("the checkpoint was written by %s, and this gogan refuses a value in its config (above), by %s: %s", who, rule, fix)
}

// EndOfEpoch says whether checkpoint c was written at the end of an epoch,
// and of which (the epochs completed): its loader stands at the start of
// the epoch after them. It reads state.json alone, unchecked.
func EndOfEpoch(c Checkpoint) (int, bool) {
	b, err := os.ReadFile(c.StatePath())
	if err != nil {
		return 0, false
	}
	var st struct {
		Epoch  int `json:"epoch"`
		Loader *struct {
			Epoch int `json:"epoch"`
			Batch int `json:"batch"`
		} `json:"loader"`
	}
	if json.Unmarshal(b, &st) != nil || st.Loader == nil {
		return 0, false
	}
	return st.Epoch, st.Epoch > 0 && st.Loader.Batch == 0 && st.Loader.Epoch == st.Epoch
}

// NewestState is the state.json of the run's newest checkpoint whose file
// reads, unchecked (its weights' checksum is not taken), or nil.
func NewestState(run string) *CheckpointState {
	cks, _ := ListCheckpoints(run)
	for _, c := range cks { // newest first
		b, err := os.ReadFile(c.StatePath())
		if err != nil {
			continue
		}
		var st CheckpointState
		if json.Unmarshal(b, &st) == nil {
			return &st
		}
	}
	return nil
}
