package ingest

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/fsnotify/fsnotify"
)

// watchFiles asks the kernel (inotify) to tell when the directories of the
// globs change, so that a line is read as soon as it is written, and a new
// or rotated file found at once, rather than at the next poll. Polling
// stays: it is what finds changes where no notification comes (network
// filesystems, directories matched by a wildcard, an exhausted inotify
// limit), and a failure here only logs. It returns nil when nothing is
// watched.
func (a *Agent) watchFiles() *fsnotify.Watcher {
	var dirs []string
	for _, g := range a.conf.Groups {
		for _, glob := range g.Globs {
			if dir := filepath.Dir(glob); !strings.ContainsAny(dir, `*?[\`) && !slices.Contains(dirs, dir) {
				dirs = append(dirs, dir)
			}
		}
	}
	if len(dirs) == 0 {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		a.log.Warn("no file notifications; changes are found by polling alone", "poll_interval", a.conf.PollInterval, "err", err)
		return nil
	}
	for _, dir := range dirs {
		if err := w.Add(dir); err != nil {
			a.log.Warn("no file notifications for a directory; its changes are found by polling alone",
				"dir", dir, "poll_interval", a.conf.PollInterval, "err", err)
		}
	}
	go a.notifications(w)
	return w
}

// notifications turns the watcher's events into polls, until it is closed.
func (a *Agent) notifications(w *fsnotify.Watcher) {
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			a.notified(ev)
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			a.log.Warn("file notifications failed; polling still finds changes", "err", err)
		}
	}
}

// notified wakes the actor of a file written to, or the supervisor for a
// file created, renamed or removed. At most one wake-up per file (and one
// for the supervisor) waits at a time, however fast the writes come.
func (a *Agent) notified(ev fsnotify.Event) {
	if ev.Has(fsnotify.Write) {
		a.mu.Lock()
		for _, fs := range a.files {
			if fs.pid != nil && fs.path() == ev.Name {
				if fs.notified.CompareAndSwap(false, true) {
					a.system.Root.Send(fs.pid, &poll{})
				}
				a.mu.Unlock()
				return
			}
		}
		a.mu.Unlock()
	}
	if ev.Has(fsnotify.Write | fsnotify.Create | fsnotify.Rename | fsnotify.Remove) {
		if a.tickQueued.CompareAndSwap(false, true) {
			a.system.Root.Send(a.super, &tick{})
		}
	}
}
