using MmCluster.Coordinator.Progress;
using MmCluster.Shared.Grpc.Dashboard;

namespace MmCluster.Coordinator.Services;

/// <summary>
/// The one place that answers a history query, for the gRPC <c>GetHistory</c> and the web API alike: the source's
/// points, of one stage or all, downsampled per stage (<see cref="HistoryDownsampler"/>), with the worker timings of
/// the points kept and the stream's resume position.
/// </summary>
public static class DashboardHistory
{
    /// <summary>The web page's default: enough for a plot as wide as a screen, at most a few hundred kB.</summary>
    public const int DefaultMaxPoints = 2000;

    /// <summary>A stage name the run does not have, or null when <paramref name="stage"/> is empty or known.</summary>
    public static string? UnknownStage(IRunProgressSource source, string stage)
    {
        var stages = source.Current.Stages.Select(s => s.Name).ToList();
        return stage.Length > 0 && !stages.Contains(stage)
            ? $"unknown stage '{stage}' (stages: {string.Join(", ", stages)})"
            : null;
    }

    /// <param name="maxPoints">At most this many training points per stage; 0: every point held.</param>
    /// <param name="since">Only points recorded at or after this position (<see cref="IRunProgressSource.HistorySince"/>).</param>
    public static GetHistoryReply Reply(IRunProgressSource source, string stage, int maxPoints, long since = 0)
    {
        var slice = source.HistorySince(since);
        var points = stage.Length == 0 ? slice.Points : slice.Points.Where(p => p.Stage == stage).ToList();
        var kept = maxPoints > 0 ? HistoryDownsampler.Downsample(points, Math.Max(maxPoints, HistoryDownsampler.MinPoints)) : points;
        var reply = new GetHistoryReply { TotalPoints = points.Count, Cursor = slice.Cursor };
        foreach (var point in kept)
        {
            reply.Points.Add(point.ToProto());
            reply.WorkerPoints.AddRange(point.WorkerPoints());
        }
        return reply;
    }
}
