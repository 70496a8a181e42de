using System;
using System.Collections.Generic;
using System.Numerics;
using System.Threading;

namespace TypedRpc.Client;

/// <summary>
/// The pending-call table: correlation id → waiting call. The key is the call's own
/// <see cref="PendingCall.Id"/>, so a slot holds just the reference: 8 bytes at a load of at most
/// one half, where a <c>ConcurrentDictionary</c> node costs 56 bytes per call (a million calls wait
/// at once in the waiters benchmark). Open addressing with linear probing and backward-shift
/// deletion (no tombstones), split over stripes that each have their own lock, so callers, the
/// reply consumer and the timer wheel rarely meet.
/// </summary>
internal sealed class PendingTable
{
    private const int StripeCount = 64; // a power of two
    private const int MinCapacity = 16; // slots per stripe, a power of two

    // Ids are chosen by callers (idempotency keys) and arrive from the wire: mix in a seed of this
    // process so nobody can aim many ids at one stripe and slot.
    private static readonly ulong s_seed = (ulong)Random.Shared.NextInt64() | 1;

    private readonly Stripe[] _stripes = new Stripe[StripeCount];
    private int _count;

    public PendingTable()
    {
        for (var i = 0; i < StripeCount; i++)
        {
            _stripes[i] = new Stripe();
        }
    }

    /// <summary>The number of calls in the table.</summary>
    public int Count => Volatile.Read(ref _count);

    public bool IsEmpty => Count == 0;

    /// <summary>Adds <paramref name="call"/>; <see langword="false"/> when a call with its id is already there.</summary>
    public bool TryAdd(PendingCall call)
    {
        var hash = Hash(call.Id);
        var stripe = _stripes[hash & (StripeCount - 1)];
        lock (stripe)
        {
            if (!stripe.TryAdd(call, hash >> 6))
            {
                return false;
            }
        }

        Interlocked.Increment(ref _count);
        return true;
    }

    /// <summary>The call waiting under <paramref name="id"/>, if any.</summary>
    public bool TryGetValue(CorrelationId id, out PendingCall call)
    {
        var hash = Hash(id);
        var stripe = _stripes[hash & (StripeCount - 1)];
        lock (stripe)
        {
            var index = stripe.Find(id, hash >> 6);
            call = index >= 0 ? stripe.Slots[index]! : null!;
            return index >= 0;
        }
    }

    /// <summary>Removes <paramref name="call"/> if it is the one in the table under its id.</summary>
    public bool TryRemove(PendingCall call)
    {
        var hash = Hash(call.Id);
        var stripe = _stripes[hash & (StripeCount - 1)];
        lock (stripe)
        {
            var index = stripe.Find(call.Id, hash >> 6);
            if (index < 0 || !ReferenceEquals(stripe.Slots[index], call))
            {
                return false;
            }

            stripe.RemoveAt(index);
        }

        Interlocked.Decrement(ref _count);
        return true;
    }

    /// <summary>A snapshot of the calls in the table.</summary>
    public List<PendingCall> Snapshot()
    {
        var calls = new List<PendingCall>(Count);
        foreach (var stripe in _stripes)
        {
            lock (stripe)
            {
                foreach (var call in stripe.Slots)
                {
                    if (call is not null)
                    {
                        calls.Add(call);
                    }
                }
            }
        }

        return calls;
    }

    private static uint Hash(CorrelationId id)
    {
        // A 64-bit finalizer (from MurmurHash3) over the id's own hash and the seed.
        var h = (ulong)(uint)id.GetHashCode() ^ s_seed;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53UL;
        h ^= h >> 33;
        return (uint)h;
    }

    /// <summary>One stripe: a power-of-two array probed linearly; every member is used under the stripe's lock.</summary>
    private sealed class Stripe
    {
        public PendingCall?[] Slots = new PendingCall?[MinCapacity];
        private int _count;

        public int Find(CorrelationId id, uint hash)
        {
            var mask = Slots.Length - 1;
            for (var i = (int)(hash & (uint)mask); ; i = (i + 1) & mask)
            {
                var call = Slots[i];
                if (call is null)
                {
                    return -1;
                }

                if (call.Id == id)
                {
                    return i;
                }
            }
        }

        public bool TryAdd(PendingCall call, uint hash)
        {
            if (Find(call.Id, hash) >= 0)
            {
                return false;
            }

            if ((_count + 1) * 2 > Slots.Length)
            {
                Resize(Slots.Length * 2);
            }

            Insert(Slots, call, hash);
            _count++;
            return true;
        }

        public void RemoveAt(int index)
        {
            // Backward-shift deletion: move later members of the probe run into the hole when
            // their home slot allows, so lookups never need tombstones.
            var mask = Slots.Length - 1;
            var hole = index;
            for (var i = (index + 1) & mask; Slots[i] is { } call; i = (i + 1) & mask)
            {
                var home = (int)(Hash(call.Id) >> 6 & (uint)mask);
                // The member may fill the hole unless its home lies cyclically in (hole, i].
                var homeInRange = hole <= i ? home > hole && home <= i : home > hole || home <= i;
                if (!homeInRange)
                {
                    Slots[hole] = call;
                    hole = i;
                }
            }

            Slots[hole] = null;
            _count--;
            if (Slots.Length > MinCapacity && _count * 32 < Slots.Length)
            {
                // A burst is over: give the memory back. Only once the stripe is down to a
                // thirty-second of its slots, so that draining it (a million deadlines coming due)
                // reallocates it a few times rather than at every halving.
                Resize(Math.Max(MinCapacity, (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, _count * 4))));
            }
        }

        private void Resize(int capacity)
        {
            var slots = new PendingCall?[capacity];
            foreach (var call in Slots)
            {
                if (call is not null)
                {
                    Insert(slots, call, Hash(call.Id) >> 6);
                }
            }

            Slots = slots;
        }

        private static void Insert(PendingCall?[] slots, PendingCall call, uint hash)
        {
            var mask = slots.Length - 1;
            var i = (int)(hash & (uint)mask);
            while (slots[i] is not null)
            {
                i = (i + 1) & mask;
            }

            slots[i] = call;
        }
    }
}
