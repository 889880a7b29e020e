using System.Runtime.CompilerServices;
using Grpc.Core;
using Grpc.Net.Client;
using MmCluster.Shared.Grpc.Dashboard;
using MmCluster.Shared.Security;

namespace MmCluster.Cli.Watch;

/// <summary>
/// Follows a coordinator's dashboard: opens the <c>Watch</c> stream, and when the coordinator is not up yet or the stream
/// breaks before the run ended, reconnects with exponential backoff (saying so through <c>status</c>) until
/// <c>giveUpAfter</c> passes without contact. Ends after the run's final snapshot. A refused token is not retried.
/// </summary>
internal sealed class DashboardWatcher(Uri coordinator, string? token, TimeSpan giveUpAfter, Action<string> status)
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(5);

    public async IAsyncEnumerable<RunSnapshot> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress(coordinator);
        var client = new Dashboard.DashboardClient(channel);
        var headers = new Metadata();
        if (!string.IsNullOrEmpty(token))
        {
            headers.Add(BearerToken.HeaderKey, BearerToken.HeaderValue(token));
        }
        var lastContact = DateTimeOffset.UtcNow;
        var delay = FirstDelay;
        for (var attempt = 1; ; attempt++)
        {
            using var call = client.Watch(new WatchRequest { MinIntervalMs = 200 }, headers, cancellationToken: cancellationToken);
            var stream = call.ResponseStream;
            RpcException? failure = null;
            while (true)
            {
                RunSnapshot snapshot;
                try
                {
                    if (!await stream.MoveNext(cancellationToken))
                    {
                        break;
                    }
                    snapshot = stream.Current.Snapshot;
                }
                catch (RpcException e) when (IsTransient(e.StatusCode) && !cancellationToken.IsCancellationRequested)
                {
                    failure = e;
                    break;
                }
                lastContact = DateTimeOffset.UtcNow;
                delay = FirstDelay;
                attempt = 1;
                yield return snapshot;
                if (IsFinal(snapshot.State))
                {
                    yield break;
                }
            }
            if (DateTimeOffset.UtcNow - lastContact > giveUpAfter)
            {
                throw new CoordinatorUnreachableException(
                    $"no answer from the coordinator at {coordinator} for {giveUpAfter.TotalSeconds:0} s ({failure?.Status.Detail ?? "stream ended"})");
            }
            var why = failure is null ? "the stream ended before the run did" : $"{failure.StatusCode}: {failure.Status.Detail}";
            status($"waiting for the coordinator at {coordinator} (attempt {attempt}, {why}); retrying in {delay.TotalSeconds:0.##} s");
            await Task.Delay(delay, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
        }
    }

    public static bool IsFinal(RunState state) => state is RunState.Succeeded or RunState.Failed or RunState.Cancelled;

    private static bool IsTransient(StatusCode code) =>
        code is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown or StatusCode.DeadlineExceeded or StatusCode.Aborted;
}
