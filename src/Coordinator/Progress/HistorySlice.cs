using MmCluster.Shared.Runs;

namespace MmCluster.Coordinator.Progress;

/// <summary>Recorded points, oldest first, and the position the next recorded point will get (<see cref="IRunProgressSource.HistorySince"/>).</summary>
public sealed record HistorySlice(IReadOnlyList<HistoryPoint> Points, long Cursor);
