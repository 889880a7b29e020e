using Grpc.Core;
using MmCluster.Coordinator.Tests.Services;
using MmCluster.Shared.Security;
using Xunit;

namespace MmCluster.Shared.Tests.Security;

public sealed class BearerTokenInterceptorSpecs
{
    private static Task<string> Call(string? token, string? header)
    {
        var interceptor = new BearerTokenInterceptor(token);
        var headers = new Metadata();
        if (header is not null)
        {
            headers.Add("authorization", header);
        }
        return interceptor.UnaryServerHandler("ping", TestServerCallContext.Create(headers), (request, _) => Task.FromResult(request + " ok"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Basic czNjcmV0")]
    [InlineData("Bearer wrong")]
    [InlineData("Bearer s3cre")]
    [InlineData("Bearer s3crett")]
    [InlineData("s3cret")]
    public async Task Should_refuse_the_call_as_unauthenticated_with_one_answer_when_the_token_is_missing_or_wrong(string? header)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Call("s3cret", header));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal(BearerTokenInterceptor.DefaultRefusal, error.Status.Detail);
    }

    [Theory]
    [InlineData("s3cret", "Bearer s3cret")]
    [InlineData("s3cret", "bearer s3cret")]
    [InlineData("s3cret", "BEARER  s3cret ")]
    [InlineData(null, null)]
    [InlineData("", null)]
    public async Task Should_let_the_call_through_when_the_token_matches_or_none_is_configured(string? token, string? header)
    {
        Assert.Equal("ping ok", await Call(token, header));
    }

    [Fact]
    public void Should_send_what_it_accepts_when_a_client_builds_the_header()
    {
        var headers = new Metadata { { BearerToken.HeaderKey, BearerToken.HeaderValue("s3cret") } };

        Assert.True(BearerToken.IsPresentedIn(headers, "s3cret"));
        Assert.False(BearerToken.IsPresentedIn(headers, "s3cret2"));
    }
}
