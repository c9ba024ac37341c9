package music

import (
	"encoding/json"
	"slices"

	"github.com/hearth-space/hearth/internal/errs"
)

// entry is one queued (or playing) track. The duration is copied in so the
// timeline needs no lookup to know when a track ends.
type entry struct {
	ID         string `json:"id"`
	TrackID    string `json:"track_id"`
	AddedBy    string `json:"added_by"`
	AddedAt    int64  `json:"added_at"`
	DurationMS int64  `json:"duration_ms"`
}

// doc is a room's player as stored: the playing entry and where it is on
// the server's timeline, what plays next, and the votes to skip. All times
// are Unix milliseconds on the server's clock. It is pure data with pure
// methods: the caller supplies the time, loads and saves it.
type doc struct {
	Current *entry `json:"current,omitempty"`
	Paused  bool   `json:"paused,omitempty"`
	// PositionMS is the position in Current at AnchorMS; while playing it
	// advances one millisecond per millisecond from there.
	PositionMS int64    `json:"position_ms"`
	AnchorMS   int64    `json:"anchor_ms"`
	Queue      []entry  `json:"queue"`
	Votes      []string `json:"votes,omitempty"`
}

func decodeDoc(b []byte) (*doc, error) {
	d := &doc{}
	if len(b) == 0 {
		return d, nil
	}
	if err := json.Unmarshal(b, d); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *doc) encode() []byte {
	b, _ := json.Marshal(d) // plain data: cannot fail
	return b
}

// position is the playback position at now.
func (d *doc) position(now int64) int64 {
	if d.Current == nil {
		return 0
	}
	p := d.PositionMS
	if !d.Paused {
		p += now - d.AnchorMS
	}
	return min(max(p, 0), d.Current.DurationMS)
}

// endsAt is when the current entry ends if nothing changes; 0 when paused
// or idle.
func (d *doc) endsAt() int64 {
	if d.Current == nil || d.Paused {
		return 0
	}
	return d.AnchorMS + d.Current.DurationMS - d.PositionMS
}

// advanceDue moves past every entry that has ended by now. Each next entry
// starts exactly when the previous one ended, not when the server noticed,
// so the room's timeline stays continuous (and a node that was down
// catches up to where the music is). It reports how many ended.
func (d *doc) advanceDue(now int64) int {
	n := 0
	for d.Current != nil && !d.Paused && d.endsAt() <= now {
		d.next(d.endsAt())
		n++
	}
	return n
}

// next starts the first queued entry at time at, or goes idle.
func (d *doc) next(at int64) {
	d.Votes = nil
	d.PositionMS, d.AnchorMS, d.Paused = 0, at, false
	if len(d.Queue) == 0 {
		d.Current = nil
		return
	}
	e := d.Queue[0]
	d.Current = &e
	d.Queue = slices.Delete(d.Queue, 0, 1)
}

func (d *doc) indexOf(entryID string) int {
	return slices.IndexFunc(d.Queue, func(e entry) bool { return e.ID == entryID })
}

// add queues e; an idle player starts it at once.
func (d *doc) add(e entry, now int64, maxQueue int) error {
	if len(d.Queue) >= maxQueue {
		return errs.E(errs.QueueFull, "the queue is full (%d entries)", maxQueue)
	}
	d.Queue = append(d.Queue, e)
	if d.Current == nil {
		d.next(now)
	}
	return nil
}

// remove drops a queued entry; removing the playing one skips it.
func (d *doc) remove(entryID string, now int64) error {
	if d.Current != nil && d.Current.ID == entryID {
		d.next(now)
		return nil
	}
	i := d.indexOf(entryID)
	if i < 0 {
		return errs.E(errs.NotFound, "no such queue entry")
	}
	d.Queue = slices.Delete(d.Queue, i, i+1)
	return nil
}

// move puts a queued entry at index (clamped to the queue).
func (d *doc) move(entryID string, index int) error {
	i := d.indexOf(entryID)
	if i < 0 {
		return errs.E(errs.NotFound, "no such queue entry")
	}
	e := d.Queue[i]
	d.Queue = slices.Delete(d.Queue, i, i+1)
	index = min(max(index, 0), len(d.Queue))
	d.Queue = slices.Insert(d.Queue, index, e)
	return nil
}

// play resumes, starts the queue when idle, or jumps to a queued entry.
func (d *doc) play(entryID string, now int64) error {
	if entryID != "" {
		i := d.indexOf(entryID)
		if i < 0 {
			if d.Current != nil && d.Current.ID == entryID {
				return d.play("", now)
			}
			return errs.E(errs.NotFound, "no such queue entry")
		}
		e := d.Queue[i]
		d.Queue = slices.Delete(d.Queue, i, i+1)
		d.Queue = slices.Insert(d.Queue, 0, e)
		d.next(now)
		return nil
	}
	switch {
	case d.Current == nil && len(d.Queue) == 0:
		return errs.E(errs.Conflict, "the queue is empty")
	case d.Current == nil:
		d.next(now)
	case d.Paused:
		d.Paused, d.AnchorMS = false, now
	}
	return nil
}

// pause freezes the position.
func (d *doc) pause(now int64) {
	if d.Current == nil || d.Paused {
		return
	}
	d.PositionMS, d.AnchorMS, d.Paused = d.position(now), now, true
}

// checkCurrent guards skip and seek against acting on a track that has
// already changed (two people pressing skip at once skip once).
func (d *doc) checkCurrent(entryID string) error {
	if d.Current == nil {
		return errs.E(errs.Conflict, "nothing is playing")
	}
	if entryID != "" && d.Current.ID != entryID {
		return errs.E(errs.Conflict, "the track has changed meanwhile")
	}
	return nil
}

// seek moves the position (clamped to the track); seeking to the end of a
// playing track ends it.
func (d *doc) seek(entryID string, positionMS int64, now int64) error {
	if err := d.checkCurrent(entryID); err != nil {
		return err
	}
	d.PositionMS, d.AnchorMS = min(max(positionMS, 0), d.Current.DurationMS), now
	return nil
}

// skip ends the current entry.
func (d *doc) skip(entryID string, now int64) error {
	if err := d.checkCurrent(entryID); err != nil {
		return err
	}
	d.next(now)
	return nil
}

// voteSkip records userID's vote and skips once votes reach needed. It
// reports whether it skipped.
func (d *doc) voteSkip(entryID, userID string, needed int, now int64) (bool, error) {
	if err := d.checkCurrent(entryID); err != nil {
		return false, err
	}
	if !slices.Contains(d.Votes, userID) {
		d.Votes = append(d.Votes, userID)
	}
	if len(d.Votes) >= needed {
		d.next(now)
		return true, nil
	}
	return false, nil
}

// removeTrack drops every entry of a deleted track.
func (d *doc) removeTrack(trackID string, now int64) {
	d.Queue = slices.DeleteFunc(d.Queue, func(e entry) bool { return e.TrackID == trackID })
	if d.Current != nil && d.Current.TrackID == trackID {
		d.next(now)
	}
}

// votesNeeded is a majority of the members present (at least one vote).
func votesNeeded(present int) int { return max(present/2+1, 1) }
