using MmCluster.Shared.Runs;

namespace MmCluster.Coordinator.Progress;

/// <summary>
/// Thins a run's history for plotting (pure), per stage, keeping its shape: a stage with more than <c>maxPoints</c>
/// training points keeps its first and last point, every evaluation and every recovery marker, and splits the rest into
/// equal buckets (by position) of which each keeps the point with the lowest and the one with the highest total loss
/// (the first loss term when a point has no total), in their order: a min/max downsampling, so spikes and the extremes
/// of the loss survive at any zoom. Evaluations and recovery markers do not count against <c>maxPoints</c> when there
/// are more of them than it leaves room for. O(n) in the points.
/// </summary>
public static class HistoryDownsampler
{
    public const int MinPoints = 2;

    public static IReadOnlyList<HistoryPoint> Downsample(IReadOnlyList<HistoryPoint> points, int maxPoints)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPoints, MinPoints);
        var byStage = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < points.Count; i++)
        {
            if (!byStage.TryGetValue(points[i].Stage, out var indices))
            {
                byStage[points[i].Stage] = indices = [];
            }
            indices.Add(i);
        }
        var keep = new bool[points.Count];
        foreach (var indices in byStage.Values)
        {
            Select(points, indices, maxPoints, keep);
        }
        var kept = new List<HistoryPoint>();
        for (var i = 0; i < points.Count; i++)
        {
            if (keep[i])
            {
                kept.Add(points[i]);
            }
        }
        return kept;
    }

    private static void Select(IReadOnlyList<HistoryPoint> points, List<int> stage, int maxPoints, bool[] keep)
    {
        if (stage.Count <= maxPoints)
        {
            foreach (var i in stage)
            {
                keep[i] = true;
            }
            return;
        }
        var rest = new List<int>(stage.Count);
        var pinned = 0;
        for (var k = 0; k < stage.Count; k++)
        {
            var i = stage[k];
            if (k == 0 || k == stage.Count - 1 || points[i].IsEvaluation || points[i].Recovery is not null)
            {
                keep[i] = true;
                pinned++;
            }
            else
            {
                rest.Add(i);
            }
        }
        var buckets = Math.Max(0, (maxPoints - pinned) / 2);
        if (buckets == 0 || rest.Count == 0)
        {
            return;
        }
        for (var b = 0; b < buckets; b++)
        {
            var start = (int)((long)rest.Count * b / buckets);
            var end = (int)((long)rest.Count * (b + 1) / buckets);
            if (start >= end)
            {
                continue;
            }
            int low = rest[start], high = rest[start];
            double lowValue = double.PositiveInfinity, highValue = double.NegativeInfinity;
            for (var r = start; r < end; r++)
            {
                var value = Primary(points[rest[r]]);
                if (double.IsNaN(value))
                {
                    continue;
                }
                if (value < lowValue)
                {
                    (low, lowValue) = (rest[r], value);
                }
                if (value > highValue)
                {
                    (high, highValue) = (rest[r], value);
                }
            }
            keep[low] = true;
            keep[high] = true;
        }
    }

    /// <summary>The series whose extremes are kept: the total loss, else the first loss term, else NaN.</summary>
    private static double Primary(HistoryPoint point)
    {
        if (point.Losses.TryGetValue("loss", out var loss))
        {
            return loss;
        }
        foreach (var value in point.Losses.Values)
        {
            return value;
        }
        return double.NaN;
    }
}
