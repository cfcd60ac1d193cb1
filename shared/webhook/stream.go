package webhook

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/metrics"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Stream is the webhook stream function: it reads the table's stream (filtered to the changes
// that make events), and for each event and each endpoint subscribed to its type records a
// delivery and queues it. It never calls an endpoint, so a slow or failing receiver cannot hold
// the stream up: the delivery function does that, from the queue.
//
// A delivery is written with a condition on its id (derived from the event and the endpoint),
// so a record processed again (a retried batch, a replay) makes no second delivery; it only
// queues the delivery again if it is still waiting for its first attempt, in case the first
// processing stopped between the write and the queue (the duplicate message is dropped by the
// delivery function). Records are processed in order; when one fails (the table or the queue
// unavailable), it and the records after it are reported as batch item failures.
type Stream struct {
	Store *store.Store
	Queue Queue
	Log   *slog.Logger
}

// Handle is the Lambda entry point.
func (h *Stream) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	var endpoints []referral.WebhookEndpoint
	loaded, failed := false, false
	for _, rec := range ev.Records {
		if !failed {
			err := h.process(ctx, rec, &endpoints, &loaded)
			if err != nil {
				failed = true
				h.Log.WarnContext(ctx, "webhook record will be retried", "sequenceNumber", rec.Change.SequenceNumber, "error", err.Error())
			}
		}
		if failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
		}
	}
	return resp, nil
}

func (h *Stream) process(ctx context.Context, rec events.DynamoDBEventRecord, endpoints *[]referral.WebhookEndpoint, loaded *bool) error {
	evs, err := FromRecord(rec)
	if err != nil {
		h.Log.ErrorContext(ctx, "stream record does not decode; no event sent", "sequenceNumber", rec.Change.SequenceNumber, "error", err.Error())
		return nil
	}
	if len(evs) == 0 {
		return nil
	}
	if !*loaded {
		if *endpoints, err = h.Store.WebhookEndpoints(ctx); err != nil {
			return err
		}
		*loaded = true
	}
	for _, e := range evs {
		for _, ep := range *endpoints {
			if !ep.Subscribes(e.Type) {
				continue
			}
			if err := h.fanOut(ctx, e, ep); err != nil {
				return err
			}
		}
	}
	return nil
}

// fanOut records the delivery of e to ep and queues it.
func (h *Stream) fanOut(ctx context.Context, e Event, ep referral.WebhookEndpoint) error {
	body, err := e.Payload()
	if err != nil {
		return err
	}
	d, created, err := h.Store.PutWebhookDelivery(ctx, store.NewDelivery{DeliveryID: DeliveryID(e.ID, ep.EndpointID),
		EndpointID: ep.EndpointID, EventID: e.ID, EventType: e.Type, Payload: string(body)})
	if err != nil {
		return err
	}
	if !created && (d.Status != referral.DeliveryPending || d.AttemptCount > 0) {
		return nil // recorded and on its way before
	}
	if err := h.Queue.Send(ctx, Message{DeliveryID: d.DeliveryID}, 0); err != nil {
		return err
	}
	if created {
		metrics.Add(ctx, metrics.WebhookDeliveries, 1)
		h.Log.InfoContext(ctx, "webhook delivery queued", "deliveryId", d.DeliveryID, "eventId", e.ID, "type", e.Type, "endpointId", ep.EndpointID)
	}
	return nil
}
