package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/referral/referrals/shared/referral"
)

type programItem struct {
	PK     string `json:"PK"`
	SK     string `json:"SK"`
	GSI1PK string `json:"GSI1PK"`
	GSI1SK string `json:"GSI1SK"`
	Type   string `json:"type"`
	referral.Program
}

// PutProgram creates or replaces a program (1 GetItem for when it stopped, 1 UpdateItem) and
// reports whether it is new. endedAt records when the status left active (kept while it stays
// paused or archived, cleared when it is active again).
func (s *Store) PutProgram(ctx context.Context, p referral.Program) (referral.Program, bool, error) {
	now := s.now()
	p.UpdatedAt = now
	p.EndedAt = nil
	if p.Status != referral.ProgramActive {
		var stored programItem
		found, err := s.getItem(ctx, programPK(p.ProgramID), programSK, &stored)
		if err != nil {
			return p, false, fmt.Errorf("put program %s: %w", p.ProgramID, err)
		}
		switch {
		case found && stored.Status != referral.ProgramActive && stored.EndedAt != nil:
			p.EndedAt = stored.EndedAt
		default:
			p.EndedAt = &now
		}
	}
	item, err := marshal(programItem{PK: programPK(p.ProgramID), SK: programSK, GSI1PK: programsPK, GSI1SK: p.ProgramID, Type: TypeProgram, Program: p})
	if err != nil {
		return p, false, fmt.Errorf("put program %s: %w", p.ProgramID, err)
	}
	var stored programItem
	created, err := s.upsert(ctx, programPK(p.ProgramID), programSK, item, now, &stored)
	if err != nil {
		return p, false, fmt.Errorf("put program %s: %w", p.ProgramID, err)
	}
	stored.Program.Normalize()
	return stored.Program, created, nil
}

// GetProgram reads one program (1 consistent GetItem).
func (s *Store) GetProgram(ctx context.Context, id string) (referral.Program, error) {
	var it programItem
	found, err := s.getItem(ctx, programPK(id), programSK, &it)
	if err != nil {
		return referral.Program{}, fmt.Errorf("get program %s: %w", id, err)
	}
	if !found {
		return referral.Program{}, referral.ErrProgramNotFound
	}
	it.Program.Normalize()
	return it.Program, nil
}

// ListPrograms pages through all programs in id order (access pattern "the programs": 1 Query
// on GSI5, PROGRAMS, for the page's keys, then 1 eventually consistent BatchGetItem per 100 of
// them for the programs as stored; GSI5 holds keys only).
func (s *Store) ListPrograms(ctx context.Context, page Page) ([]referral.Program, *string, error) {
	var items []programItem
	next, err := s.queryThrough(ctx, GSI5, programsPK, page, true, &items)
	if err != nil {
		return nil, nil, fmt.Errorf("list programs: %w", err)
	}
	out := make([]referral.Program, len(items))
	for i := range items {
		out[i] = items[i].Program
		out[i].Normalize()
	}
	return out, next, nil
}

// ProgramCache keeps programs read by a warm container for TTL, so the conversion path does not
// read its program on every request. Program edits reach warm containers within TTL.
type ProgramCache struct {
	Store *Store
	TTL   time.Duration

	mu      sync.Mutex
	entries map[string]cachedProgram
}

type cachedProgram struct {
	p       referral.Program
	fetched time.Time
}

// Get returns the program from the cache or the table.
func (c *ProgramCache) Get(ctx context.Context, id string) (referral.Program, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if ok && now.Sub(e.fetched) < c.TTL {
		return e.p, nil
	}
	p, err := c.Store.GetProgram(ctx, id)
	if err != nil {
		return p, err
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]cachedProgram{}
	}
	c.entries[id] = cachedProgram{p: p, fetched: now}
	c.mu.Unlock()
	return p, nil
}
