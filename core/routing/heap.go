package routing

// ranked is an element of a binary min-heap: before says it comes out first.
type ranked[T any] interface{ before(T) bool }

// The heaps are written out rather than using container/heap so that elements stay inline
// (no boxing into interfaces, no allocation) and comparisons need not follow pointers.

func heapUp[T ranked[T]](h []T, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].before(h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func heapDown[T ranked[T]](h []T, i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h[r].before(h[l]) {
			m = r
		}
		if !h[m].before(h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func heapPush[T ranked[T]](h []T, x T) []T {
	h = append(h, x)
	heapUp(h, len(h)-1)
	return h
}

func heapPop[T ranked[T]](h []T) ([]T, T) {
	var zero T
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = zero
	h = h[:last]
	if last > 0 {
		heapDown(h, 0)
	}
	return h, top
}

func heapInit[T ranked[T]](h []T) {
	for i := len(h)/2 - 1; i >= 0; i-- {
		heapDown(h, i)
	}
}

// qent is a queue heap entry. It carries all its ordering keys inline, so the order of stale
// entries never changes when their conversation record is reused; gen tells whether the
// conversation is still in this place (removals are lazy).
type qent struct {
	priority int
	entered  int64
	id       string
	gen      uint64
	c        *conv
	lid      int  // the conversation's language id
	refused  bool // someone refused or missed it (refusals only change while it is offered)
}

func (x qent) before(y qent) bool {
	if x.priority != y.priority {
		return x.priority > y.priority
	}
	if x.entered != y.entered {
		return x.entered < y.entered
	}
	if x.id != y.id {
		return x.id < y.id
	}
	return x.gen < y.gen
}

func (x qent) live() bool { return x.c.hgen == x.gen }

// push puts c in the heap of conversations waiting for an offer.
func (r *Router) push(q *queue, c *conv) {
	r.seq++
	c.hgen = r.seq
	q.heap = heapPush(q.heap, qent{priority: c.priority, entered: nanos(c.entered), id: c.key.ID, gen: r.seq, c: c,
		lid: c.lid, refused: len(c.refused) > 0})
}

// drop takes c out of its queue's heap (lazily) and compacts the heap when mostly stale.
func (q *queue) drop(c *conv) {
	if c.hgen == 0 {
		return
	}
	c.hgen = 0
	q.stale++
	if q.stale > 64 && q.stale > len(q.heap)/2 {
		live := q.heap[:0]
		for _, e := range q.heap {
			if e.live() {
				live = append(live, e)
			}
		}
		clear(q.heap[len(live):])
		q.heap = live
		q.stale = 0
		heapInit(q.heap)
	}
	q.trim()
}

// trim pops stale entries off the top, so that the top entry, when there is one, is live and
// can be compared without following its pointer.
func (q *queue) trim() {
	for len(q.heap) > 0 && !q.heap[0].live() {
		q.heap, _ = heapPop(q.heap)
		q.stale--
	}
}

// pop takes the head out of the heap.
func (q *queue) pop() *conv {
	if len(q.heap) == 0 {
		return nil
	}
	var e qent
	q.heap, e = heapPop(q.heap)
	e.c.hgen = 0
	q.trim()
	return e.c
}
