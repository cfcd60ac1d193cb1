package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/referral/referrals/shared/referral"
)

// TypeEmailCopy is a merchant's wording for one email template in one language, kept in the
// program's partition so that one Query reads all of a program's copy.
const TypeEmailCopy = "emailcopy"

type emailCopyItem struct {
	PK        string    `json:"PK"`
	SK        string    `json:"SK"`
	Type      string    `json:"type"`
	ProgramID string    `json:"programId"`
	Template  string    `json:"template"`
	Lang      string    `json:"lang"`
	UpdatedAt time.Time `json:"updatedAt"`
	referral.EmailCopy
}

// StoredEmailCopy is the copy with what it belongs to.
type StoredEmailCopy struct {
	ProgramID string    `json:"programId"`
	Template  string    `json:"template"`
	Lang      string    `json:"lang"`
	UpdatedAt time.Time `json:"updatedAt"`
	referral.EmailCopy
}

func (it emailCopyItem) stored() StoredEmailCopy {
	return StoredEmailCopy{ProgramID: it.ProgramID, Template: it.Template, Lang: it.Lang, UpdatedAt: it.UpdatedAt, EmailCopy: it.EmailCopy}
}

// PutEmailCopy replaces the copy of one template in one language of an existing program:
// 1 PutItem conditioned on the program item (a ConditionCheck cannot ride a single Put, so the
// condition is on the program's partition: the copy is refused when the program is gone).
func (s *Store) PutEmailCopy(ctx context.Context, programID, template, lang string, c referral.EmailCopy) (StoredEmailCopy, error) {
	if _, err := s.GetProgram(ctx, programID); err != nil {
		return StoredEmailCopy{}, err
	}
	it := emailCopyItem{PK: programPK(programID), SK: emailCopySK(template, lang), Type: TypeEmailCopy,
		ProgramID: programID, Template: template, Lang: lang, UpdatedAt: s.now(), EmailCopy: c}
	item, err := marshal(it)
	if err != nil {
		return StoredEmailCopy{}, fmt.Errorf("put email copy: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return StoredEmailCopy{}, unavailable(fmt.Errorf("put email copy %s/%s/%s: %w", programID, template, lang, err))
	}
	return it.stored(), nil
}

// GetEmailCopy reads the copy of one template in one language (1 consistent GetItem); found
// is false when the merchant has written none.
func (s *Store) GetEmailCopy(ctx context.Context, programID, template, lang string) (StoredEmailCopy, bool, error) {
	var it emailCopyItem
	found, err := s.getItem(ctx, programPK(programID), emailCopySK(template, lang), &it)
	if err != nil || !found {
		return StoredEmailCopy{}, found, err
	}
	return it.stored(), true, nil
}

// DeleteEmailCopy removes the copy of one template in one language (1 DeleteItem); found is
// false when there was none.
func (s *Store) DeleteEmailCopy(ctx context.Context, programID, template, lang string) (found bool, err error) {
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table),
		Key: key(programPK(programID), emailCopySK(template, lang)), ReturnValues: "ALL_OLD"})
	if err != nil {
		return false, unavailable(fmt.Errorf("delete email copy %s/%s/%s: %w", programID, template, lang, err))
	}
	return len(out.Attributes) > 0, nil
}

// EmailCopies reads all of a program's copy, by "template/lang": 1 Query on the program's
// partition (SK begins with EMAILCOPY#), a page per MB.
func (s *Store) EmailCopies(ctx context.Context, programID string) (map[string]referral.EmailCopy, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("PK").Equal(expression.Value(programPK(programID))).
		And(expression.Key("SK").BeginsWith(emailCopyPrefix))).Build()
	if err != nil {
		return nil, fmt.Errorf("email copies: %w", err)
	}
	out := map[string]referral.EmailCopy{}
	in := &dynamodb.QueryInput{TableName: aws.String(s.table), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, unavailable(fmt.Errorf("email copies of %s: %w", programID, err))
		}
		var items []emailCopyItem
		if err := unmarshalList(page.Items, &items); err != nil {
			return nil, fmt.Errorf("email copies of %s: %w", programID, err)
		}
		for _, it := range items {
			out[it.Template+"/"+it.Lang] = it.EmailCopy
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// CopyCache keeps a program's email copy in a warm container for TTL, so that sending an
// email costs no read for it: the stream function reads each program's copy once per TTL.
type CopyCache struct {
	Store *Store
	TTL   time.Duration

	cache ttlCache[map[string]referral.EmailCopy]
}

// Get returns the copy of template in lang for the program (zero when there is none).
func (c *CopyCache) Get(ctx context.Context, programID, template, lang string) (referral.EmailCopy, error) {
	all, err := c.cache.get(programID, c.TTL, func() (map[string]referral.EmailCopy, error) {
		return c.Store.EmailCopies(ctx, programID)
	})
	if err != nil {
		return referral.EmailCopy{}, err
	}
	return all[template+"/"+lang], nil
}

// ttlCache remembers one value per key for a while.
type ttlCache[V any] struct {
	mu      sync.Mutex
	entries map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	fetched time.Time
}

func (c *ttlCache[V]) get(key string, ttl time.Duration, load func() (V, error)) (V, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Sub(e.fetched) < ttl {
		return e.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= maxRemembered {
		c.entries = map[string]ttlEntry[V]{}
	}
	c.entries[key] = ttlEntry[V]{v: v, fetched: now}
	c.mu.Unlock()
	return v, nil
}
