package ingest

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/asynkron/protoactor-go/actor"
)

// tick asks the supervisor to glob for files and poll every file actor;
// found, if set, is closed once the files are found.
type tick struct{ found chan struct{} }

// supervisor finds files and runs an actor per file. Its state lives in the
// Agent, so that the supervisor too may be restarted.
type supervisor struct{ a *Agent }

func (s *supervisor) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		// After a crash of the supervisor, its children are gone but the
		// files are not: give them new actors.
		s.a.mu.Lock()
		for _, fs := range s.a.files {
			s.startActor(c, fs)
		}
		s.a.mu.Unlock()
	case *tick:
		s.a.tickQueued.Store(false)
		s.discover(c)
		s.a.mu.Lock()
		for _, fs := range s.a.files {
			c.Send(fs.pid, &poll{})
		}
		s.a.mu.Unlock()
		if m.found != nil {
			close(m.found)
		}
	case *fileDone:
		s.a.mu.Lock()
		if s.a.files[m.fs.inode] == m.fs {
			delete(s.a.files, m.fs.inode)
		}
		s.a.mu.Unlock()
		c.Stop(m.fs.pid)
	}
}

// match is a file some glob matches.
type match struct {
	path  string
	group int
}

// discover globs for files: it notes files renamed within or out of the
// globs, and starts an actor per new file, but only once the file that had
// its name before (rotated away) is read to its end.
func (s *supervisor) discover(c actor.Context) {
	a := s.a
	matched := make(map[uint64]match)
	for gi, g := range a.conf.Groups {
		for _, glob := range g.Globs {
			// The globs were validated, and Glob reports nothing else.
			paths, _ := filepath.Glob(glob)
			for _, p := range paths {
				st, err := os.Stat(p)
				if err != nil || !st.Mode().IsRegular() {
					continue
				}
				if ino := inodeOf(st); ino != 0 {
					if _, seen := matched[ino]; !seen {
						matched[ino] = match{path: p, group: gi}
					}
				}
			}
		}
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	for ino, fs := range a.files {
		m, ok := matched[ino]
		if !ok {
			if !fs.unmatched.Swap(true) {
				a.log.Info("file renamed away or deleted; reading it to its end", "path", fs.path(), "inode", ino)
			}
			continue
		}
		if fs.unmatched.Swap(false) {
			fs.drained.Store(false)
		}
		if old := fs.path(); old != m.path {
			a.log.Info("file renamed", "from", old, "to", m.path, "inode", ino)
			fs.setPath(m.path)
		}
	}
	if len(a.loaded) > 0 {
		s.resumeRenamed(c, matched)
	}
	for ino, m := range matched {
		if _, ok := a.files[ino]; ok {
			continue
		}
		if s.waitsForPredecessor(m.path) {
			continue
		}
		file, ino, ok := s.openMatched(m.path, ino)
		if !ok {
			continue
		}
		var offset int64
		if p, ok := a.loaded[ino]; ok {
			offset = p.Offset
			delete(a.loaded, ino)
		}
		s.spawn(c, ino, m, offset, false, file)
	}
	// Entries that matched no file now are of files gone while the agent
	// was down.
	clear(a.loaded)
}

// resumeRenamed finds, on the first discovery, the files of the position
// file that were renamed out of the globs while the agent was down (rotated
// between a crash and the restart), so that their last lines are still
// read. It looks for their inode in the directory they were in.
func (s *supervisor) resumeRenamed(c actor.Context, matched map[uint64]match) {
	a := s.a
	for ino, p := range a.loaded {
		if _, ok := matched[ino]; ok {
			continue
		}
		group := -1
		for gi, g := range a.conf.Groups {
			for _, glob := range g.Globs {
				if ok, _ := filepath.Match(glob, p.Path); ok && group < 0 {
					group = gi
				}
			}
		}
		if group < 0 {
			continue
		}
		entries, err := os.ReadDir(filepath.Dir(p.Path))
		if err != nil {
			continue
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil || !info.Mode().IsRegular() || inodeOf(info) != ino {
				continue
			}
			now := filepath.Join(filepath.Dir(p.Path), e.Name())
			file, opened, ok := s.openMatched(now, ino)
			if !ok || opened != ino || file == nil {
				if file != nil {
					file.Close()
				}
				continue
			}
			a.log.Info("file rotated while the agent was down; reading it to its end", "path", now, "was", p.Path, "inode", ino)
			s.spawn(c, ino, match{path: p.Path, group: group}, p.Offset, true, file)
			delete(a.loaded, ino)
			break
		}
	}
}

// waitsForPredecessor tells whether a file that had path before, and was
// renamed away, is still being read to its end.
func (s *supervisor) waitsForPredecessor(path string) bool {
	for _, fs := range s.a.files {
		if fs.unmatched.Load() && !fs.drained.Load() && fs.path() == path {
			return true
		}
	}
	return false
}

// openMatched opens a file found at path with inode ino. Opening it here,
// not in its actor, makes sure that the inode followed is the one opened,
// even if the name moves on in between. It returns the file (nil if it
// cannot be opened now: its actor reports that and tries again), the inode
// to follow, and false if there is nothing new to follow. Under Agent.mu.
func (s *supervisor) openMatched(path string, ino uint64) (*os.File, uint64, bool) {
	file, err := s.a.conf.open(path)
	if err != nil {
		return nil, ino, true
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, ino, true
	}
	if opened := inodeOf(st); opened != ino {
		// Renamed and replaced since the glob: follow what was opened,
		// unless it is followed already.
		if _, ok := s.a.files[opened]; ok {
			file.Close()
			return nil, 0, false
		}
		ino = opened
	}
	return file, ino, true
}

// spawn starts following a file from offset; file is the open file, or
// nil if it is still to be opened. Under Agent.mu.
func (s *supervisor) spawn(c actor.Context, ino uint64, m match, offset int64, unmatched bool, file *os.File) {
	a := s.a
	g := a.conf.Groups[m.group]
	fs := &fileState{inode: ino, topic: g.Topic, keyField: g.KeyField, tracker: newTracker(offset)}
	fs.setPath(m.path)
	fs.resume(offset, a.conf.MaxLineLength)
	fs.unmatched.Store(unmatched)
	if file != nil {
		fs.adopt(a, file)
	}
	s.startActor(c, fs)
	a.files[ino] = fs
	a.log.Info("following file", "path", m.path, "inode", ino, "topic", g.Topic, "offset", offset)
}

// startActor spawns the actor reading fs. Under Agent.mu.
func (s *supervisor) startActor(c actor.Context, fs *fileState) {
	fs.pid = c.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor { return &fileActor{a: s.a, fs: fs} }), fmt.Sprintf("file-%d-", fs.inode))
}
