package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/referral/referrals/shared/referral"
)

// TypeClick is a visit to a share link, written for the insights stream consumer to count.
const TypeClick = "click"

// clickTTL is how long a click item stays: the stream keeps it 24 hours, so after three days
// nothing can count it again and TTL deletes it for free (the deletion is not counted: the
// consumer's filter reads only inserted clicks).
const clickTTL = 72 * time.Hour

// Click is one visit to a share link (GET /r/{code}). It holds nothing about the visitor: no
// address, no user agent.
type Click struct {
	ClickID   string    `json:"clickId"`
	ProgramID string    `json:"programId"`
	Code      string    `json:"code"`
	Channel   string    `json:"channel"` // referral.ClickChannel of the link's ?ch=
	CreatedAt time.Time `json:"createdAt"`
}

type clickItem struct {
	PK   string `json:"PK"`
	SK   string `json:"SK"`
	Type string `json:"type"`
	TTL  int64  `json:"ttl"`
	Click
}

// RecordClick writes a visit for the stats: access pattern "count a share-link visit", 1
// PutItem (1 WCU) on a key of its own, so a viral code's visits never contend on the code
// item or on a counter, and the redirect reads nothing more. The insights stream consumer
// adds it to the program's month (clicks, clicks per channel).
func (s *Store) RecordClick(ctx context.Context, c Click) (Click, error) {
	c.CreatedAt = c.CreatedAt.UTC()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now()
	}
	c.Channel = referral.ClickChannel(c.Channel)
	if c.ClickID == "" {
		c.ClickID = referral.NewID(c.CreatedAt)
	}
	item, err := marshal(clickItem{PK: clickPK(c.ClickID), SK: clickSK, Type: TypeClick, TTL: c.CreatedAt.Add(clickTTL).Unix(), Click: c})
	if err != nil {
		return c, fmt.Errorf("record click: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return c, unavailable(fmt.Errorf("record click on %s: %w", c.Code, err))
	}
	return c, nil
}
