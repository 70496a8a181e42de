using System;
using System.Threading;
using System.Threading.Tasks;
using System.Threading.Tasks.Sources;

namespace TypedRpc.Client;

/// <summary>
/// The completion of a call that is awaited once and never reused: the part of an
/// <see cref="IValueTaskSource"/> that stores the awaiter's continuation and runs it when the call
/// ends. Two references (16 bytes) where <see cref="ManualResetValueTaskSourceCore{TResult}"/> takes
/// 48: no version (the source is never reset), no stored exception (outcomes are values), and the
/// caller's execution or scheduling context only when one must be captured — then it travels in a
/// small object of its own. Continuations always run asynchronously (on the thread pool, or on the
/// captured context), never on the thread that ends the call (a reply consumer or the timer wheel);
/// the call itself is the thread-pool work item that runs a waiting continuation.
/// </summary>
internal struct OneShotCompletion
{
    // Marks "completed" in the continuation slot.
    private static readonly Action<object?> s_completed = static _ => throw new InvalidOperationException("A completed call's marker was run.");

    private Action<object?>? _continuation;
    private object? _state;

    /// <summary>Whether <see cref="Complete"/> ran.</summary>
    public bool IsCompleted => ReferenceEquals(Volatile.Read(ref _continuation), s_completed);

    public ValueTaskSourceStatus Status => IsCompleted ? ValueTaskSourceStatus.Succeeded : ValueTaskSourceStatus.Pending;

    /// <summary>Throws unless completed (an awaiter reads the result only after completion).</summary>
    public void EnsureCompleted()
    {
        if (!IsCompleted)
        {
            throw new InvalidOperationException("The call has not ended yet; await it.");
        }
    }

    /// <summary>Stores the awaiter's continuation, or runs it at once (asynchronously) when already completed.</summary>
    public void OnCompleted(Action<object?> continuation, object? state, ValueTaskSourceOnCompletedFlags flags)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        if (CapturedContext.For(continuation, state, flags) is { } captured)
        {
            continuation = CapturedContext.Invoke;
            state = captured;
        }

        // A second await would overwrite the first one's state below: refuse it first.
        if (Volatile.Read(ref _continuation) is { } existing && !ReferenceEquals(existing, s_completed))
        {
            throw new InvalidOperationException("A call can be awaited only once.");
        }

        // The state is written before the continuation is published (the exchange is a full
        // fence), so whoever takes the continuation also sees its state.
        _state = state;
        var previous = Interlocked.CompareExchange(ref _continuation, continuation, null);
        if (previous is null)
        {
            return;
        }

        if (!ReferenceEquals(previous, s_completed))
        {
            throw new InvalidOperationException("A call can be awaited only once.");
        }

        _state = null;
        Dispatch(continuation, state);
    }

    /// <summary>
    /// Marks the source completed, or — when a continuation waits — queues <paramref name="owner"/>
    /// to the thread pool to run it (<see cref="RunContinuation"/>). Call once, after the result is
    /// in place. Queuing the owner (the call itself) allocates nothing, where queuing the delegate
    /// would allocate a work item per call; until the owner runs, the source still reads pending,
    /// and only the continuation it runs reads the result.
    /// </summary>
    public void Complete(IThreadPoolWorkItem owner)
    {
        var continuation = Interlocked.CompareExchange(ref _continuation, s_completed, null);
        if (continuation is null || ReferenceEquals(continuation, s_completed))
        {
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(owner, preferLocal: true);
    }

    /// <summary>Runs the continuation <see cref="Complete"/> queued the owner for, marking the source completed first. The owner's thread-pool run calls it.</summary>
    public void RunContinuation()
    {
        var continuation = Volatile.Read(ref _continuation)!;
        var state = _state;
        _state = null;
        Volatile.Write(ref _continuation, s_completed);
        continuation(state);
    }

    private static void Dispatch(Action<object?> continuation, object? state) =>
        ThreadPool.UnsafeQueueUserWorkItem(continuation, state, preferLocal: true);

    /// <summary>A continuation that must run in the awaiter's execution context, synchronization context or task scheduler.</summary>
    private sealed class CapturedContext
    {
        public static readonly Action<object?> Invoke = static state => ((CapturedContext)state!).Run();

        private readonly Action<object?> _continuation;
        private readonly object? _state;
        private readonly ExecutionContext? _executionContext;
        private readonly object? _scheduling; // a SynchronizationContext or a TaskScheduler

        private CapturedContext(Action<object?> continuation, object? state, ExecutionContext? executionContext, object? scheduling)
        {
            _continuation = continuation;
            _state = state;
            _executionContext = executionContext;
            _scheduling = scheduling;
        }

        public static CapturedContext? For(Action<object?> continuation, object? state, ValueTaskSourceOnCompletedFlags flags)
        {
            var executionContext = (flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0 ? ExecutionContext.Capture() : null;
            object? scheduling = null;
            if ((flags & ValueTaskSourceOnCompletedFlags.UseSchedulingContext) != 0)
            {
                if (SynchronizationContext.Current is { } context && context.GetType() != typeof(SynchronizationContext))
                {
                    scheduling = context;
                }
                else if (TaskScheduler.Current != TaskScheduler.Default)
                {
                    scheduling = TaskScheduler.Current;
                }
            }

            return executionContext is null && scheduling is null ? null : new CapturedContext(continuation, state, executionContext, scheduling);
        }

        private void Run()
        {
            switch (_scheduling)
            {
                case SynchronizationContext context:
                    context.Post(static s => ((CapturedContext)s!).RunInContext(), this);
                    break;
                case TaskScheduler scheduler:
                    _ = Task.Factory.StartNew(static s => ((CapturedContext)s!).RunInContext(), this, CancellationToken.None, TaskCreationOptions.DenyChildAttach, scheduler);
                    break;
                default:
                    RunInContext();
                    break;
            }
        }

        private void RunInContext()
        {
            if (_executionContext is null)
            {
                _continuation(_state);
            }
            else
            {
                ExecutionContext.Run(_executionContext, static s =>
                {
                    var captured = (CapturedContext)s!;
                    captured._continuation(captured._state);
                }, this);
            }
        }
    }
}
