package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ErrPositionsLocked means another agent holds the position file, and did
// not let go of it within a few seconds.
var ErrPositionsLocked = errors.New("position file in use by another agent")

// ErrCorruptPositions means the position file could not be parsed. Start
// reports it, moves the file aside and reads every file from its start.
var ErrCorruptPositions = errors.New("corrupt position file")

// position is one file's entry in the position file: Kafka acknowledged
// every line of the file with this inode up to Offset. Path is where the
// file was last seen among the globs; the inode is what identifies it, so a
// renamed file keeps its place.
type position struct {
	Inode  uint64 `json:"inode"`
	Offset int64  `json:"offset"`
	Path   string `json:"path"`
}

// loadPositions reads the position file. A missing file is an empty one; a
// file that does not parse is ErrCorruptPositions.
func loadPositions(path string) ([]position, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read position file %s: %w", path, err)
	}
	var ps []position
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ps); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrCorruptPositions, path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w %s: data after the entries", ErrCorruptPositions, path)
	}
	for i, p := range ps {
		if p.Offset < 0 || p.Path == "" || p.Inode == 0 {
			return nil, fmt.Errorf("%w %s: entry %d (%+v) is invalid", ErrCorruptPositions, path, i, p)
		}
	}
	return ps, nil
}

// quarantinePositions moves a corrupt position file aside, for a person to
// look at, and returns where it went.
func quarantinePositions(path string) (string, error) {
	aside := fmt.Sprintf("%s.corrupt-%s", path, time.Now().UTC().Format("20060102T150405.000"))
	if err := os.Rename(path, aside); err != nil {
		return "", fmt.Errorf("move corrupt position file aside: %w", err)
	}
	return aside, nil
}

// savePositions replaces the position file atomically: a reader (or the
// next run after a crash) sees the old or the new content, never a mix.
func savePositions(path string, ps []position) error {
	if ps == nil {
		ps = []position{}
	}
	b, err := json.MarshalIndent(ps, "", "  ")
	if err != nil {
		return fmt.Errorf("encode positions: %w", err)
	}
	b = append(b, '\n')
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write position file: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write position file %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace position file %s: %w", path, err)
	}
	// The rename is durable only once the directory is.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("sync directory of position file %s: %w", path, err)
		}
	}
	return nil
}

// positionsLockWait is how long Start waits for the position file's lock:
// an agent killed a moment ago holds it until the kernel has torn its
// process down, which takes a while with file notifications to release.
const positionsLockWait = 3 * time.Second

// lockPositions takes an exclusive lock on Positions + ".lock", released by
// closing the returned file (and by the kernel when the process dies). It
// waits up to positionsLockWait, or until ctx ends, for a holder to go.
func lockPositions(ctx context.Context, path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("position file directory: %w", err)
	}
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock position file: %w", err)
	}
	deadline := time.Now().Add(positionsLockWait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock position file %s: %w", path, err)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			f.Close()
			return nil, fmt.Errorf("%w: %s", ErrPositionsLocked, path)
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}
