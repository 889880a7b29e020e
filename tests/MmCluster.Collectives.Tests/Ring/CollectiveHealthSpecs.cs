using Grpc.Health.V1;
using Grpc.Net.Client;
using MmCluster.Collectives.Ring;
using Xunit;

namespace MmCluster.Collectives.Tests.Ring;

/// <summary>The worker pod's probes: the collective port answers grpc.health.v1 without a token.</summary>
public sealed class CollectiveHealthSpecs
{
    [Fact]
    public async Task Should_report_serving_when_the_kubelet_checks_the_collective_port()
    {
        await using var server = await CollectiveServer.StartAsync(new CollectiveServerOptions { BearerToken = "s3cret" });
        using var channel = GrpcChannel.ForAddress(server.Address);

        var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
    }
}
