package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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
// them for the programs as stored; GSI5 does not project a program's attributes, which would
// take most of the 100 a table's indexes may project).
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

// queryGSI5 reads one page of the GSI5 partition pk in sort-key order into out (a *[]item).
func (s *Store) queryGSI5(ctx context.Context, pk string, page Page, out any) (*string, error) {
	return s.queryIndex(ctx, GSI5, pk, page, true, out)
}

// listedKey is the table key of an item as an index lists it (every index projects it).
type listedKey struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
}

// queryThrough reads one page of the partition pk of a secondary index through to the table:
// the page's keys from the index (queryKeys), then the items as stored (readListed), into out
// (a *[]item). For lists whose items the index does not project: 1 Query, then 1 eventually
// consistent BatchGetItem per 100 keys.
func (s *Store) queryThrough(ctx context.Context, index, pk string, page Page, forward bool, out any) (*string, error) {
	keys, next, err := s.queryKeys(ctx, index, pk, page, forward)
	if err != nil {
		return nil, err
	}
	if err := s.readListed(ctx, keys, out); err != nil {
		return nil, err
	}
	return next, nil
}

// queryKeys reads the table keys of one page of the partition pk of a secondary index, in
// sort-key order (forward) or newest first (1 Query); the cursor is the next page's.
func (s *Store) queryKeys(ctx context.Context, index, pk string, page Page, forward bool) ([]listedKey, *string, error) {
	var keys []listedKey
	next, err := s.queryIndex(ctx, index, pk, page, forward, &keys)
	return keys, next, err
}

// readListed reads the items of keys from the table, in their order, into out (a *[]item):
// 1 eventually consistent BatchGetItem per 100 keys. An item deleted since it was listed is
// left out.
func (s *Store) readListed(ctx context.Context, keys []listedKey, out any) error {
	raws := make([]map[string]types.AttributeValue, 0, len(keys))
	for len(keys) > 0 {
		n := min(len(keys), 100)
		batch := make([]map[string]types.AttributeValue, n)
		for i, k := range keys[:n] {
			batch[i] = key(k.PK, k.SK)
		}
		got, err := s.batchGetEventually(ctx, batch...)
		if err != nil {
			return err
		}
		for _, k := range batch {
			if raw, ok := got[itemKey(k)]; ok {
				raws = append(raws, raw)
			}
		}
		keys = keys[n:]
	}
	return unmarshalList(raws, out)
}

// queryIndex reads one page of the partition pk of a secondary index, in sort-key order
// (forward) or newest first, into out (a *[]item); the cursor is the next page's.
func (s *Store) queryIndex(ctx context.Context, index, pk string, page Page, forward bool, out any) (*string, error) {
	start, err := decodeCursor(page.Cursor, index, pk)
	if err != nil {
		return nil, err
	}
	pkName, _ := indexKeys(index)
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(pkName).Equal(expression.Value(pk))).Build()
	if err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ExclusiveStartKey:         start,
		ScanIndexForward:          aws.Bool(forward),
	}
	if page.Limit > 0 {
		in.Limit = aws.Int32(page.Limit)
	}
	res, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, unavailable(err)
	}
	if err := unmarshalList(res.Items, out); err != nil {
		return nil, err
	}
	return encodeCursor(res.LastEvaluatedKey)
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
