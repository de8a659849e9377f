package ingest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// fileState is one followed file. It outlives the file's actor, which is
// replaced when it crashes: the open descriptor is what keeps following the
// inode after the name moves on, and the tracker is what the position file
// needs.
type fileState struct {
	inode    uint64
	topic    string
	keyField string
	tracker  *tracker

	curPath   atomic.Pointer[string] // set by the supervisor
	unmatched atomic.Bool            // no glob matches it any more: renamed away or deleted
	notified  atomic.Bool            // a poll sent on a write notification awaits the actor
	drained   atomic.Bool            // read to its end since it was unmatched
	size      atomic.Int64
	readOff   atomic.Int64 // where the next read starts

	pid *actor.PID // under Agent.mu

	// The rest belongs to the file's actor.
	file       *os.File
	dest       *topic // the producer's topic, looked up on the first read
	closed     bool   // read to its end and closed for good: awaiting its stop
	scanner    lineScanner
	started    bool   // an actor ran before: a new one is a restart
	loop       uint64 // the current read loop; older readMore messages are stale
	openErr    string // the last open error reported, so each is reported once
	topicErr   string // the same for looking the topic up
	failedAt   time.Time
	backoff    time.Duration
	lastGrowth time.Time
}

func (fs *fileState) path() string { return *fs.curPath.Load() }

// resume makes the next read start at off, a line's start, after a rewind.
func (fs *fileState) resume(off int64, maxLine int) {
	fs.readOff.Store(off)
	fs.scanner = lineScanner{max: maxLine}
}

func (fs *fileState) setPath(p string) { fs.curPath.Store(&p) }

// Messages of file actors.
type (
	// poll asks a file actor to look for new lines.
	poll struct{}
	// readMore continues a read loop.
	readMore struct{ loop uint64 }
	// fileDone tells the supervisor that a deleted or long-gone file was
	// read and acknowledged to its end and closed.
	fileDone struct{ fs *fileState }
)

// Read loop pacing: how long to wait before trying again when waiting on
// Kafka (for buffer space or for lines in flight).
const retrySoon = 10 * time.Millisecond

// fileActor reads one file and hands its whole lines to the producer, one
// buffer per message so that stop and poll messages are served in between.
type fileActor struct {
	a       *Agent
	fs      *fileState
	prevEnd int64 // the end of the previous line, during a scan
	// Lines and bytes handed over during a scan, counted once per scan.
	lines, bytes int64
}

func (f *fileActor) Receive(c actor.Context) {
	defer func() {
		if r := recover(); r != nil {
			f.a.fileErrors.Add(1)
			f.a.log.Error("file reader crashed; restarting it", "path", f.fs.path(), "inode", f.fs.inode, "panic", r)
			panic(r) // for the supervisor to restart the actor
		}
	}()
	switch m := c.Message().(type) {
	case *actor.Started:
		if f.fs.started {
			// Lines the crashed actor had in flight are sent again rather
			// than trusted: it may have died between reading and sending.
			off := f.fs.tracker.rewind(-1)
			f.fs.resume(off, f.a.conf.MaxLineLength)
			f.a.log.Warn("file reader restarted after a crash; reading again from the acknowledged offset",
				"path", f.fs.path(), "inode", f.fs.inode, "offset", off)
		}
		f.fs.started = true
		f.kick(c)
	case *poll:
		f.fs.notified.Store(false)
		f.kick(c)
	case *readMore:
		if m.loop == f.fs.loop {
			f.step(c)
		}
	}
}

// kick starts a read loop, replacing the running one (its pending message
// turns stale), so that an actor never runs two.
func (f *fileActor) kick(c actor.Context) {
	f.fs.loop++
	c.Send(c.Self(), &readMore{loop: f.fs.loop})
}

// step reads once and decides when to read next: at once while there is
// more, soon while waiting on Kafka, or at the next poll.
func (f *fileActor) step(c actor.Context) {
	switch wait := f.read(c); {
	case wait == 0:
		c.Send(c.Self(), &readMore{loop: f.fs.loop})
	case wait > 0:
		self, msg, root := c.Self(), &readMore{loop: f.fs.loop}, f.a.system.Root
		time.AfterFunc(wait, func() { root.Send(self, msg) })
	default:
		// Invalidate the loop so the next poll starts one.
		f.fs.loop++
	}
}

const atPoll = -1

// read does one step of reading and returns the wait before the next:
// 0, a duration, or atPoll.
func (f *fileActor) read(c actor.Context) time.Duration {
	fs, a := f.fs, f.a
	if fs.closed || fs.file == nil && !f.open(c) {
		return atPoll
	}
	acked, outstanding, failure := fs.tracker.state()
	if failure != nil {
		if outstanding > 0 {
			return retrySoon
		}
		if fs.failedAt.IsZero() {
			fs.failedAt = time.Now()
			if fs.backoff == 0 {
				fs.backoff = a.conf.RetryBackoff
			}
			a.log.Error("Kafka refused lines; sending them again", "path", fs.path(), "inode", fs.inode,
				"from_offset", acked, "after", fs.backoff, "err", failure)
		}
		if wait := fs.backoff - time.Since(fs.failedAt); wait > 0 {
			return wait
		}
		fs.resume(fs.tracker.rewind(-1), a.conf.MaxLineLength)
		fs.failedAt = time.Time{}
		fs.backoff = min(2*fs.backoff, a.conf.RetryBackoffMax)
	} else if outstanding == 0 {
		fs.backoff = 0
	}
	if !a.bufferRoom() {
		return retrySoon
	}
	if fs.dest == nil && !f.lookUpTopic() {
		return a.conf.RetryBackoff
	}
	if a.conf.beforeRead != nil {
		a.conf.beforeRead(fs.path())
	}
	st, err := fs.file.Stat()
	if err != nil {
		a.fileErrors.Add(1)
		a.log.Error("cannot stat file; retrying", "path", fs.path(), "err", err)
		return atPoll
	}
	size, off := st.Size(), fs.readOff.Load()
	fs.size.Store(size)
	if size < off {
		a.log.Info("file truncated (copy-truncate rotation?); reading it from its start",
			"path", fs.path(), "inode", fs.inode, "size", size, "offset", off)
		off = fs.tracker.rewind(0)
		fs.resume(off, a.conf.MaxLineLength)
	}
	var data []byte
	if size > off {
		// Reading starts a byte early, at the newline that ended the last
		// line read: a file truncated and grown past off again between two
		// looks (copy-truncate) most likely has something else there.
		from := off
		if off > 0 && !fs.scanner.skipping {
			from = off - 1
		}
		buf := a.readBuffers.Get().(*[]byte)
		defer a.readBuffers.Put(buf)
		n, err := fs.file.ReadAt(*buf, from)
		if n == 0 && err != nil && !errors.Is(err, io.EOF) {
			a.fileErrors.Add(1)
			a.log.Error("cannot read file; retrying", "path", fs.path(), "offset", off, "err", err)
			return atPoll
		}
		data = (*buf)[:n]
		if from < off && n > 0 {
			if data[0] != '\n' {
				a.log.Info("file truncated and rewritten (copy-truncate rotation?); reading it from its start",
					"path", fs.path(), "inode", fs.inode, "size", size, "offset", off)
				fs.resume(fs.tracker.rewind(0), a.conf.MaxLineLength)
				return 0
			}
			data = data[1:]
		}
	}
	next := off
	if len(data) > 0 {
		fs.lastGrowth = time.Now()
		f.prevEnd = off
		next = fs.scanner.scan(data, off, f.send, f.tooLong)
		fs.readOff.Store(next)
		a.buffered.Add(f.bytes)
		a.linesRead.Add(f.lines)
		a.bytesRead.Add(f.bytes)
		f.lines, f.bytes = 0, 0
	}
	if next > off {
		return 0
	}
	f.atEnd(c, st)
	return atPoll
}

// atEnd handles a file with nothing more to read now: it counts as drained
// if renamed away, and is closed if gone (deleted, or renamed away and idle)
// once every line read was acknowledged.
func (f *fileActor) atEnd(c actor.Context, st os.FileInfo) {
	fs, a := f.fs, f.a
	if !fs.unmatched.Load() {
		return
	}
	fs.drained.Store(true)
	deleted := st.Sys().(*syscall.Stat_t).Nlink == 0
	if !deleted && time.Since(fs.lastGrowth) < a.conf.IdleTimeout {
		return
	}
	if _, outstanding, failure := fs.tracker.state(); outstanding > 0 || failure != nil {
		return
	}
	fs.file.Close()
	fs.file, fs.closed = nil, true
	a.log.Info("file closed: read to its end", "path", fs.path(), "inode", fs.inode, "deleted", deleted)
	c.Send(c.Parent(), &fileDone{fs: fs})
}

// open opens the file by its last known path, making sure it is still the
// same inode.
func (f *fileActor) open(c actor.Context) bool {
	fs, a := f.fs, f.a
	path := fs.path()
	file, err := a.conf.open(path)
	if err == nil {
		var st os.FileInfo
		if st, err = file.Stat(); err == nil && inodeOf(st) != fs.inode {
			err = fmt.Errorf("%s is another file now (inode %d, not %d)", path, inodeOf(st), fs.inode)
		}
		if err != nil {
			file.Close()
		}
	}
	if err != nil {
		a.fileErrors.Add(1)
		if msg := err.Error(); msg != fs.openErr {
			fs.openErr = msg
			a.log.Error("cannot open file; retrying", "path", path, "inode", fs.inode, "err", err)
		}
		if fs.unmatched.Load() {
			a.log.Error("file gone before it could be read; giving up on it", "path", path, "inode", fs.inode)
			fs.closed = true
			c.Send(c.Parent(), &fileDone{fs: fs})
		}
		return false
	}
	if fs.openErr != "" {
		a.log.Info("file readable again", "path", path, "inode", fs.inode)
		fs.openErr = ""
	}
	fs.adopt(a, file)
	return true
}

// adopt starts reading the open file.
func (fs *fileState) adopt(a *Agent, file *os.File) {
	if st, err := file.Stat(); err == nil && fs.readOff.Load() > st.Size() {
		// The saved entry was for an inode since freed and reused.
		a.log.Warn("saved offset is past the end of the file; reading it from its start",
			"path", fs.path(), "inode", fs.inode, "offset", fs.readOff.Load(), "size", st.Size())
		fs.resume(fs.tracker.rewind(0), a.conf.MaxLineLength)
	}
	fs.file = file
	fs.lastGrowth = time.Now()
}

// lookUpTopic finds the producer's topic of the file, reporting a failure
// once until it succeeds.
func (f *fileActor) lookUpTopic() bool {
	fs, a := f.fs, f.a
	t, err := a.producer.topic(fs.topic)
	if err != nil {
		if msg := err.Error(); msg != fs.topicErr {
			fs.topicErr = msg
			a.log.Error("cannot look the topic up in Kafka; retrying", "path", fs.path(), "topic", fs.topic, "err", err)
		}
		return false
	}
	fs.dest, fs.topicErr = t, ""
	return true
}

// send hands a whole line to the producer, which copies it.
func (f *fileActor) send(content []byte, end int64) {
	fs := f.fs
	size := int(end - f.prevEnd)
	f.prevEnd = end
	var key []byte
	if fs.keyField != "" {
		key = jsonKey(content, fs.keyField)
	}
	if f.a.producer.add(fs.dest, fs, key, content, end, size) {
		f.lines++
		f.bytes += int64(size)
	}
}

// tooLong reports and skips an over-long line.
func (f *fileActor) tooLong(offset, length, end int64) {
	f.prevEnd = end
	f.a.linesTooLong.Add(1)
	f.a.log.Warn("line longer than the maximum skipped", "path", f.fs.path(), "offset", offset,
		"length", length, "max", f.a.conf.MaxLineLength)
	f.fs.tracker.skipped(end)
}

func inodeOf(st os.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}
