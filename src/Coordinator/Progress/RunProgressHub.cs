using System.Runtime.CompilerServices;
using System.Threading.Channels;
using MmCluster.Shared.Runs;

namespace MmCluster.Coordinator.Progress;

/// <summary>
/// Thread-safe, in-memory <see cref="IRunProgressSource"/>. The RunActor calls <see cref="Publish"/> with every new
/// snapshot and <see cref="Record"/> with history points; any number of dashboard watchers subscribe. Each subscriber
/// has a one-slot mailbox that keeps the newest snapshot, so a slow watcher never slows the publisher. History is
/// bounded: past <c>maxHistoryPoints</c> every other training point is dropped (evaluations, recovery markers and the
/// newest point are kept), halving the resolution instead of forgetting the start of the run. Every recorded point has
/// a position (its number in recording order), so a stream can ask for the points after the last it sent.
/// </summary>
public sealed class RunProgressHub : IRunProgressSource
{
    private readonly object _gate = new();
    private readonly List<Channel<RunSnapshot>> _subscribers = [];
    private readonly int _maxHistoryPoints;
    private List<(long Position, HistoryPoint Point)> _history = [];
    private long _recorded;
    private RunSnapshot _current;

    public RunProgressHub(RunSnapshot initial, int maxHistoryPoints = 20_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxHistoryPoints, 2);
        _current = initial;
        _maxHistoryPoints = maxHistoryPoints;
    }

    public RunSnapshot Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    public IReadOnlyList<HistoryPoint> History
    {
        get
        {
            lock (_gate)
            {
                return _history.Select(h => h.Point).ToArray();
            }
        }
    }

    public HistorySlice HistorySince(long cursor)
    {
        lock (_gate)
        {
            // Positions grow along the list: binary search for the first at or after the cursor.
            var (low, high) = (0, _history.Count);
            while (low < high)
            {
                var middle = (low + high) / 2;
                (low, high) = _history[middle].Position < cursor ? (middle + 1, high) : (low, middle);
            }
            var points = new HistoryPoint[_history.Count - low];
            for (var i = low; i < _history.Count; i++)
            {
                points[i - low] = _history[i].Point;
            }
            return new HistorySlice(points, _recorded);
        }
    }

    /// <summary>Makes <paramref name="snapshot"/> current (numbering it) and hands it to every subscriber.</summary>
    public void Publish(RunSnapshot snapshot)
    {
        lock (_gate)
        {
            _current = snapshot with { Sequence = _current.Sequence + 1 };
            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryWrite(_current);
                if (_current.State.IsFinal())
                {
                    subscriber.Writer.TryComplete();
                }
            }
        }
    }

    public void Record(HistoryPoint point)
    {
        lock (_gate)
        {
            _history.Add((_recorded++, point));
            if (_history.Count > _maxHistoryPoints)
            {
                var training = 0;
                var last = _history[^1];
                _history = _history.Where(h => h.Point.IsEvaluation || h.Point.Recovery is not null || training++ % 2 == 0 || h.Position == last.Position).ToList();
            }
        }
    }

    public async IAsyncEnumerable<RunSnapshot> Subscribe([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<RunSnapshot>(new BoundedChannelOptions(1)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (_gate)
        {
            channel.Writer.TryWrite(_current);
            if (_current.State.IsFinal())
            {
                channel.Writer.TryComplete();
            }
            else
            {
                _subscribers.Add(channel);
            }
        }
        try
        {
            await foreach (var snapshot in channel.Reader.ReadAllAsync(cancellationToken))
            {
                yield return snapshot;
            }
        }
        finally
        {
            lock (_gate)
            {
                _subscribers.Remove(channel);
            }
        }
    }
}
