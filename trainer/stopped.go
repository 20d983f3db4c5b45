package trainer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	torch "gogan/cgo"
	"gogan/gan"
)

// addressSpaceLimit is, for a CPU run under an address-space limit
// (ulimit -v), that limit for the out-of-memory message, which otherwise
// blames the machine's memory: ", or this process's address-space limit,
// ulimit -v: 6000 MiB".
func addressSpaceLimit(dev torch.Device) string {
	var lim syscall.Rlimit
	if dev.IsCUDA() || syscall.Getrlimit(syscall.RLIMIT_AS, &lim) != nil || lim.Cur == ^uint64(0) { // RLIM_INFINITY
		return ""
	}
	return fmt.Sprintf(", or this process's address-space limit, ulimit -v: %d MiB", lim.Cur>>20)
}

// writeStopped is err, a write of run's files that the storage refused,
// with why (the disk is full, a file passed a size limit) and what to do
// (fix), then how the run goes on: the same gogan train again where it
// wrote no checkpoint yet, else a resume from the newest good one.
func (s *session) writeStopped(err error, run, why, fix string) error {
	if s.ckpt == "" { // a new run, none written yet
		return fmt.Errorf("%w\n%s, before the run wrote a checkpoint: %s, then run the same gogan train command again (there is nothing to resume)", err, why, fix)
	}
	return fmt.Errorf("%w\n%s; the newest good checkpoint is %s: %s, then continue with %s", err, why, s.lastCheckpointText(), fix, ResumeCommand(run))
}

// fileSizeLimit is the process's file-size limit for a message, " (ulimit
// -f: 500 KiB)", or "" where there is none.
func fileSizeLimit() string {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim) != nil || lim.Cur == ^uint64(0) { // RLIM_INFINITY
		return ""
	}
	return fmt.Sprintf(" (ulimit -f: %d KiB)", lim.Cur/1024)
}

func (s *session) lastCheckpointText() string {
	if s.ckpt == "" {
		return "none (no checkpoint was written yet)"
	}
	return s.ckpt
}

// continueText says how a run its data stopped goes on from its newest
// checkpoint, once the data are fixed, or starts again where it wrote none.
func (s *session) continueText(run string) string {
	if s.ckpt == "" {
		return "then run the same gogan train command again"
	}
	return fmt.Sprintf("then continue with %s (the newest good checkpoint is %s)", ResumeCommand(run), s.lastCheckpointText())
}

// ResumeCommand is the command that continues the run in folder run, as a
// shell reads it (a folder named -x given as ./-x, one with spaces quoted),
// and as the run ran: a data-parallel job of one machine with as many
// processes (a resume on another number of ranks is no longer the run an
// uninterrupted job makes); one of several machines with torchrun's command
// again on each, or as started by hand (RANK, WORLD_SIZE and the address,
// without torchrun's LOCAL_WORLD_SIZE). The program is named gogan, as the
// messages name it.
func ResumeCommand(run string) string { return ResumeCommandOf("gogan", run) }

// ResumeCommandOf is ResumeCommand with the program as the user started it
// (os.Args[0]: build/gogan, say), for a command to run as printed.
func ResumeCommandOf(program, run string) string {
	words := append([]string{program, "resume", gan.PathArg(run)}, setFlags(machineSets)...)
	if w, _ := strconv.Atoi(os.Getenv("WORLD_SIZE")); w > 1 {
		if lw, _ := strconv.Atoi(os.Getenv("LOCAL_WORLD_SIZE")); lw == w {
			return gan.Command(append(words, "--nproc", strconv.Itoa(w))...)
		}
		if os.Getenv("LOCAL_WORLD_SIZE") == "" && os.Getenv("TORCHELASTIC_RUN_ID") == "" {
			// started by hand, which torchrun's variables would say
			return gan.Command(words...) + "   (in every rank's process, with the RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT this job was started with)"
		}
		return gan.Command(words...) + "   (under torchrun on every machine, as this job was started)"
	}
	return gan.Command(words...)
}

// machineSets are this resume's --set device= and threads= (KEY=VALUE),
// which config.yaml does not keep (saveResumedConfig): the commands it
// prints to go on carry them, so that they run here as this one did (a
// run trained on a GPU machine, resumed with device=cpu on another).
var machineSets []string

// errFolderReplaced stops a run whose folder was moved or deleted while it
// trained and another folder made at its old path since (mv runs/x
// runs/x-old, then a new run into runs/x): its writes there would succeed,
// into a folder that is not its own.
var errFolderReplaced = fmt.Errorf("another folder was made at its old path since, into which this run writes nothing: %w", fs.ErrNotExist)

// folderReplaced is errFolderReplaced where the run folder's path holds
// another folder now; checked before the run writes there by path
// (checkpoints, grids, its page and status.json).
func (s *session) folderReplaced() error {
	if s.lock == nil {
		return nil
	}
	if _, err := os.Stat(s.rd.Path); err != nil {
		return nil // gone: the write fails, and folderMoved says why
	}
	if to, deleted := s.lock.MovedTo(); to != "" && to != s.rd.Path || deleted { // (folderMoved takes the run to where it went)
		return errFolderReplaced
	}
	return nil
}

// folderMoved is err, when the run folder was moved (renamed) or deleted
// while the run trained and a write into its old path failed, as that:
// the run goes on from the moved folder, whose status.json and page are
// written there from now on (gogan runs would call it killed), or it starts
// anew. Any other err as it is.
func (s *session) folderMoved(err error) error {
	if s.lock == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	to, deleted := s.lock.MovedTo()
	if to == "" && !deleted {
		return err
	}
	var pe *fs.PathError // the write that failed, without advice naming the old path
	if errors.As(err, &pe) {
		err = pe
	}
	why := fmt.Errorf("a write into its old path failed: %w", err)
	if errors.Is(err, errFolderReplaced) {
		why = errFolderReplaced
	}
	old := s.rd.Path
	if deleted {
		// mv to another file system copies, then deletes: the copy is not told
		return fmt.Errorf("the run folder %s was deleted while the run trained: train again, or, where it was moved to another file system (a copy, then a delete), continue with %s\n(%w)",
			old, ResumeCommand("NEW_PATH"), why)
	}
	s.rd.Path = to
	s.lossPlot = nil // made with the old path's files: drawn again from the moved folder's
	if s.ckpt == "" {
		return fmt.Errorf("the run folder %s was moved to %s while the run trained, before it wrote a checkpoint: run the same gogan train command again\n(%w)", old, to, why)
	}
	ck := s.ckpt
	if rel, rerr := filepath.Rel(old, s.ckpt); rerr == nil {
		ck = filepath.Join(to, rel)
	}
	return fmt.Errorf("the run folder %s was moved to %s while the run trained: continue with %s\n(%w; the newest good checkpoint is %s)",
		old, to, ResumeCommand(to), why, ck)
}
