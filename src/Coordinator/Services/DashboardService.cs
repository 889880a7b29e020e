using Grpc.Core;
using MmCluster.Coordinator.Progress;
using MmCluster.Shared.Grpc.Dashboard;

namespace MmCluster.Coordinator.Services;

/// <summary>
/// The progress dashboard over gRPC (<c>protos/dashboard.proto</c>): validates the request, reads the
/// <see cref="IRunProgressSource"/> and maps to protobuf. <c>Watch</c> streams like grpc-dotnet's
/// <c>ProgressorService.RunHistory</c>: one message per snapshot until the run ends or the client leaves.
/// </summary>
public sealed class DashboardService(IRunProgressSource source) : Dashboard.DashboardBase
{
    public const uint MaxIntervalMs = 60_000;

    public override async Task Watch(WatchRequest request, IServerStreamWriter<WatchReply> responseStream, ServerCallContext context)
    {
        if (request.MinIntervalMs > MaxIntervalMs)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"min_interval_ms must be at most {MaxIntervalMs}, got {request.MinIntervalMs}"));
        }
        var interval = TimeSpan.FromMilliseconds(request.MinIntervalMs);
        try
        {
            await foreach (var snapshot in source.Subscribe(context.CancellationToken))
            {
                await responseStream.WriteAsync(new WatchReply { Snapshot = snapshot.ToProto() });
                if (interval > TimeSpan.Zero)
                {
                    // The subscription keeps only the newest snapshot meanwhile: waiting coalesces, it never loses the last.
                    await Task.Delay(interval, context.CancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The watcher went away; nothing to report to it.
        }
        catch (InvalidOperationException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The call completed (watcher gone, server stopping) while a snapshot was being written: nothing to report.
        }
    }

    public override Task<GetStatusReply> GetStatus(GetStatusRequest request, ServerCallContext context) =>
        Task.FromResult(new GetStatusReply { Snapshot = source.Current.ToProto() });

    public override Task<GetHistoryReply> GetHistory(GetHistoryRequest request, ServerCallContext context)
    {
        if (DashboardHistory.UnknownStage(source, request.Stage) is { } unknown)
        {
            throw new RpcException(new Status(StatusCode.NotFound, unknown));
        }
        var maxPoints = (int)Math.Min(request.MaxPoints, int.MaxValue);
        return Task.FromResult(DashboardHistory.Reply(source, request.Stage, maxPoints));
    }
}
