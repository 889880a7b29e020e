using System.Net;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using MmCluster.Coordinator.Hosting;
using MmCluster.Coordinator.Progress;
using MmCluster.Coordinator.Services;
using MmCluster.Coordinator.Tests.Progress;
using MmCluster.Shared.Grpc.Dashboard;
using Xunit;
using HistoryPoint = MmCluster.Shared.Runs.HistoryPoint;

namespace MmCluster.Coordinator.Tests.Hosting;

/// <summary>The dashboard on a real Kestrel h2c endpoint on loopback, called by a real gRPC client.</summary>
public sealed class DashboardServerSpecs
{
    [Fact]
    public async Task Should_stream_pushed_snapshots_serve_history_and_refuse_callers_without_the_token_when_served_over_h2c()
    {
        var hub = new RunProgressHub(RunSnapshots.Pending());
        hub.Record(new HistoryPoint { Stage = "clip", Step = 1, Losses = new Dictionary<string, double> { ["loss"] = 2.4 } });
        await using var server = await DashboardServer.StartAsync(new DashboardOptions { Address = IPAddress.Loopback, Port = 0, Token = "s3cret" }, hub);
        using var channel = GrpcChannel.ForAddress(server.Address);
        var client = new Dashboard.DashboardClient(channel);
        var auth = new Metadata { { "authorization", "Bearer s3cret" } };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        var refused = await Assert.ThrowsAsync<RpcException>(() => client.GetStatusAsync(new GetStatusRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), cancellationToken: timeout.Token);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        using var watch = client.Watch(new WatchRequest(), auth, cancellationToken: timeout.Token);
        Assert.True(await watch.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal(RunState.Pending, watch.ResponseStream.Current.Snapshot.State);
        hub.Publish(RunSnapshots.Running(20));
        Assert.True(await watch.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal((RunState.Running, 20L), (watch.ResponseStream.Current.Snapshot.State, watch.ResponseStream.Current.Snapshot.Step));
        hub.Publish(RunSnapshots.Finished());
        Assert.True(await watch.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal(RunState.Succeeded, watch.ResponseStream.Current.Snapshot.State);
        Assert.False(await watch.ResponseStream.MoveNext(timeout.Token));

        var history = await client.GetHistoryAsync(new GetHistoryRequest { Stage = "clip" }, auth, cancellationToken: timeout.Token);
        Assert.Equal(2.4, Assert.Single(history.Points).Losses["loss"]);
        Assert.Equal("127.0.0.1", server.Address.Host);
    }
}
