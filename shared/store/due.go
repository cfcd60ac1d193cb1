package store

import (
	"context"
	"time"
)

// dueItems reads into out up to limit items of the GSI4 partition pk whose due time (the
// start of GSI3SK) is at or before by, most overdue first: 1 Query on GSI4 for their keys, then
// 1 eventually consistent BatchGetItem for the items as stored (GSI4 holds keys only). An item
// whose due key moved out of that range after the index listed it is left out; the reads are
// eventually consistent, so every change made from what it returns is conditional on the
// state read.
func (s *Store) dueItems(ctx context.Context, pk string, by time.Time, limit int32, out any) error {
	_, err := s.runThrough(ctx, indexRun{index: GSI4, pk: pk, hi: dueBy(by)}, nil, limit, out)
	return err
}
