package music

import (
	"context"
	"log/slog"
	"time"

	"github.com/hearth-space/hearth/internal/obs"
)

// Run advances room players at the end of each track until ctx ends. It
// sleeps until the earliest end among all rooms (or pollInterval, to see
// players another node started), then moves every due room on. Several
// nodes may run it: the compare-and-swap in mutateRoom lets one of them
// advance a room and the others find nothing left to do.
func (s *Service) Run(ctx context.Context) {
	for {
		wait := pollInterval
		next, ok, err := s.store.NextMusicDeadline(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "music scheduler: next deadline", "err", err)
		}
		if ok {
			wait = min(wait, next.Sub(s.clock.Now()))
		}
		if wait > 0 {
			t := s.clock.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			case <-s.wake:
				t.Stop()
				continue
			}
		}
		if ctx.Err() != nil {
			return
		}
		if failed := s.advanceDue(ctx); failed {
			// Do not spin on a persistent failure (database down).
			t := s.clock.NewTimer(time.Second)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
		}
	}
}

// advanceDue moves on every room whose track has ended; it reports whether
// anything failed.
func (s *Service) advanceDue(ctx context.Context) bool {
	rooms, err := s.store.DueMusicPlayers(ctx, s.clock.Now(), 100)
	if err != nil {
		if ctx.Err() == nil {
			s.log.WarnContext(ctx, "music scheduler: due players", "err", err)
		}
		return true
	}
	failed := false
	for _, roomID := range rooms {
		rctx := obs.WithFields(ctx, slog.String(obs.KeyRoomID, roomID))
		if _, err := s.mutateRoom(rctx, roomID, opAutoAdvance, func(*doc, int64) error { return nil }); err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(rctx, "music scheduler: advance", "err", err)
			}
			failed = true
		}
	}
	return failed
}
