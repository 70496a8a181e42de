using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace TypedRpc.Client;

/// <summary>
/// The results waited for by id (<see cref="IRpcResults.WaitAsync{T}"/>): one signal per id, set
/// when its result may have arrived — a wake-up, or a reply stored here — so the wait reads the
/// store again rather than only at its next poll.
/// </summary>
internal sealed class ResultWatchers
{
    private readonly ConcurrentDictionary<CorrelationId, TaskCompletionSource> _watchers = new();

    /// <summary>The signal for <paramref name="id"/>, shared by everyone waiting for it.</summary>
    public TaskCompletionSource Watch(CorrelationId id) =>
        _watchers.GetOrAdd(id, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Drops <paramref name="watcher"/> if it is still the signal for <paramref name="id"/>.</summary>
    public void Unwatch(CorrelationId id, TaskCompletionSource watcher) =>
        _watchers.TryRemove(new KeyValuePair<CorrelationId, TaskCompletionSource>(id, watcher));

    /// <summary>Sets the signal for <paramref name="id"/>, if someone waits for it.</summary>
    public void Wake(CorrelationId id)
    {
        if (_watchers.TryGetValue(id, out var watcher))
        {
            watcher.TrySetResult();
        }
    }

    /// <summary>The number of ids waited for.</summary>
    public int Count => _watchers.Count;
}
