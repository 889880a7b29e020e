using Grpc.Core;
using MmCluster.Coordinator.Services;
using Xunit;

namespace MmCluster.Coordinator.Tests.Services;

public sealed class BearerTokenInterceptorSpecs
{
    private static Task<string> Call(string? token, string? header)
    {
        var interceptor = new BearerTokenInterceptor(new DashboardOptions { Token = token });
        var headers = new Metadata();
        if (header is not null)
        {
            headers.Add("authorization", header);
        }
        return interceptor.UnaryServerHandler("ping", TestServerCallContext.Create(headers), (request, _) => Task.FromResult(request + " ok"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Basic czNjcmV0")]
    [InlineData("Bearer wrong")]
    [InlineData("Bearer s3cre")]
    public async Task Should_refuse_the_call_as_unauthenticated_when_the_token_is_missing_or_wrong(string? header)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Call("s3cret", header));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }

    [Theory]
    [InlineData("s3cret", "Bearer s3cret")]
    [InlineData("s3cret", "bearer s3cret")]
    [InlineData(null, null)]
    [InlineData("", null)]
    public async Task Should_let_the_call_through_when_the_token_matches_or_none_is_configured(string? token, string? header)
    {
        Assert.Equal("ping ok", await Call(token, header));
    }
}
