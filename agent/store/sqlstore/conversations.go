package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/store"
)

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Store) applyConversations(st *stmts, c string, b store.Batch) error {
	for _, v := range b.Conversations {
		if _, err := st.exec(`INSERT INTO conversations (connector_id, id, contact_id, state, created_at, updated_at, last_closed_at, rating,
			rating_at, remark, tags, ai_participated, ai_resolution, ai_rating, ai_answer_type)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (connector_id, id) DO UPDATE SET contact_id = excluded.contact_id, state = excluded.state,
				created_at = excluded.created_at, updated_at = excluded.updated_at, last_closed_at = excluded.last_closed_at,
				rating = excluded.rating, rating_at = excluded.rating_at, remark = excluded.remark, tags = excluded.tags,
				ai_participated = excluded.ai_participated, ai_resolution = excluded.ai_resolution, ai_rating = excluded.ai_rating,
				ai_answer_type = excluded.ai_answer_type`,
			c, v.ID, v.ContactID, v.State, v.CreatedAt, v.UpdatedAt, v.LastClosedAt, v.Rating, v.RatingAt, boolInt(v.Remark),
			strings.Join(v.Tags, "\x1f"), boolInt(v.AIParticipated), v.AIResolution, v.AIRating, v.AIAnswerType); err != nil {
			return fmt.Errorf("conversation %s: %w", v.ID, err)
		}
	}
	ts := now()
	for _, e := range b.Events {
		if _, err := st.exec(`INSERT INTO events (connector_id, event_key, payload, state, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (connector_id, event_key) DO NOTHING`, c, e.Key, string(e.Payload), store.EventPending, ts); err != nil {
			return fmt.Errorf("event %s: %w", e.Key, err)
		}
	}
	for _, u := range b.EventUpdates {
		attempt := 0
		if u.Attempt {
			attempt = 1
		}
		if len(u.Keys) == 0 && u.From != "" {
			if _, err := st.exec(`UPDATE events SET state = ?, last_error = ? WHERE connector_id = ? AND state = ?`,
				u.State, u.Error, c, u.From); err != nil {
				return fmt.Errorf("events in state %s: %w", u.From, err)
			}
			continue
		}
		for _, k := range u.Keys {
			var err error
			if u.State == store.EventSent {
				_, err = st.exec(`UPDATE events SET state = ?, last_error = '', attempts = attempts + ?, sent_at = ?
					WHERE connector_id = ? AND event_key = ?`, u.State, attempt, ts, c, k)
			} else {
				_, err = st.exec(`UPDATE events SET state = ?, not_before = ?, last_error = ?, attempts = attempts + ?
					WHERE connector_id = ? AND event_key = ?`, u.State, micros(u.NotBefore), u.Error, attempt, c, k)
			}
			if err != nil {
				return fmt.Errorf("event %s: %w", k, err)
			}
		}
	}
	return nil
}

const conversationColumns = `id, contact_id, state, created_at, updated_at, last_closed_at, rating, rating_at, remark, tags,
	ai_participated, ai_resolution, ai_rating, ai_answer_type`

func scanConversation(r scanner) (store.Conversation, error) {
	var v store.Conversation
	var remark, ai int
	var tags string
	err := r.Scan(&v.ID, &v.ContactID, &v.State, &v.CreatedAt, &v.UpdatedAt, &v.LastClosedAt, &v.Rating, &v.RatingAt, &remark, &tags,
		&ai, &v.AIResolution, &v.AIRating, &v.AIAnswerType)
	v.Remark, v.AIParticipated = remark == 1, ai == 1
	if tags != "" {
		v.Tags = strings.Split(tags, "\x1f")
	}
	return v, err
}

func (s *Store) queryConversations(ctx context.Context, column, connectorID string, keys []string, each func(store.Conversation)) error {
	for start := 0; start < len(keys); start += maxIn {
		chunk := keys[start:min(start+maxIn, len(keys))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, connectorID)
		for _, k := range chunk {
			args = append(args, k)
		}
		rows, err := s.DB.QueryContext(ctx, s.Q(`SELECT `+conversationColumns+` FROM conversations WHERE connector_id = ? AND `+column+
			` IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+`)`), args...)
		if err != nil {
			return fmt.Errorf("read conversations: %w", err)
		}
		for rows.Next() {
			v, err := scanConversation(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("read conversations: %w", err)
			}
			each(v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// ConversationsByID implements store.Conversations.
func (s *Store) ConversationsByID(ctx context.Context, connectorID string, ids []string) (map[string]store.Conversation, error) {
	out := map[string]store.Conversation{}
	err := s.queryConversations(ctx, "id", connectorID, ids, func(v store.Conversation) { out[v.ID] = v })
	return out, err
}

// ConversationsOf implements store.Conversations.
func (s *Store) ConversationsOf(ctx context.Context, connectorID string, contactIDs []string) (map[string][]store.Conversation, error) {
	out := map[string][]store.Conversation{}
	err := s.queryConversations(ctx, "contact_id", connectorID, contactIDs, func(v store.Conversation) {
		out[v.ContactID] = append(out[v.ContactID], v)
	})
	for _, vs := range out {
		sort.Slice(vs, func(i, j int) bool { return vs[i].ID < vs[j].ID })
	}
	return out, err
}

// CountConversations implements store.Conversations.
func (s *Store) CountConversations(ctx context.Context, connectorID string) (int64, error) {
	return s.count(ctx, `SELECT COUNT(*) FROM conversations WHERE connector_id = ?`, connectorID)
}

// ReadyEvents implements store.Conversations.
func (s *Store) ReadyEvents(ctx context.Context, connectorID string, at time.Time, limit int) ([]store.Event, error) {
	rows, err := s.DB.QueryContext(ctx, s.Q(`SELECT event_key, payload, state, attempts, not_before, last_error, created_at, sent_at FROM events
		WHERE connector_id = ? AND state = 'pending' AND not_before <= ? ORDER BY created_at, event_key LIMIT `+strconv.Itoa(max(limit, 1))),
		connectorID, at.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var payload string
		var nb, created, sent int64
		if err := rows.Scan(&e.Key, &payload, &e.State, &e.Attempts, &nb, &e.LastError, &created, &sent); err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		e.Payload, e.NotBefore, e.CreatedAt, e.SentAt = json.RawMessage(payload), fromMicros(nb), fromMicros(created), fromMicros(sent)
		out = append(out, e)
	}
	return out, rows.Err()
}

// CountEvents implements store.Conversations.
func (s *Store) CountEvents(ctx context.Context, connectorID, state string) (int64, error) {
	if state == "" {
		return s.count(ctx, `SELECT COUNT(*) FROM events WHERE connector_id = ?`, connectorID)
	}
	return s.count(ctx, `SELECT COUNT(*) FROM events WHERE connector_id = ? AND state = ?`, connectorID, state)
}
