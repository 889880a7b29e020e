using System.Security.Cryptography;
using System.Text;
using Grpc.Core;

namespace MmCluster.Shared.Security;

/// <summary>
/// The one way a gRPC call carries and a service checks the run's shared secret: the <c>authorization: Bearer</c> header
/// (RFC 6750; the scheme name is case-insensitive), compared in constant time. Used by the dashboard and the collectives
/// (through <see cref="BearerTokenInterceptor"/>) and by their clients.
/// </summary>
public static class BearerToken
{
    public const string HeaderKey = "authorization";
    private const string Scheme = "Bearer ";

    /// <summary>The header value a client sends.</summary>
    public static string HeaderValue(string token) => Scheme + token;

    /// <summary>True when <paramref name="headers"/> carry exactly <paramref name="expected"/> (constant time in its length).</summary>
    public static bool IsPresentedIn(Metadata headers, string expected)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentException.ThrowIfNullOrEmpty(expected);
        return Matches(FromHeader(headers.GetValue(HeaderKey)), expected);
    }

    /// <summary>The token of an <c>Authorization</c> header value (<c>Bearer T</c>, scheme case-insensitive); empty otherwise.</summary>
    public static string FromHeader(string? value) =>
        value is not null && value.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) ? value[Scheme.Length..].Trim() : "";

    /// <summary>
    /// True when <paramref name="presented"/> is <paramref name="expected"/>, in a time that depends on neither: both are
    /// hashed (SHA-256) first, so not even the length of the token leaks.
    /// </summary>
    public static bool Matches(string? presented, string expected)
    {
        ArgumentException.ThrowIfNullOrEmpty(expected);
        return CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented ?? "")), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
    }
}
