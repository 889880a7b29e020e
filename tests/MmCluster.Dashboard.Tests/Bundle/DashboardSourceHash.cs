using System.Security.Cryptography;
using System.Text;

namespace MmCluster.Dashboard.Tests.Bundle;

/// <summary>
/// The hash web/build.mjs writes on the first line of every bundled file, computed the same way from the sources:
/// SHA-256 over "&lt;path&gt;\n&lt;SHA-256 hex of the file, CRLF read as LF&gt;\n" for web/src/**, web/build.mjs and
/// web/package-lock.json in ordinal order of their '/'-separated paths from the repository root.
/// </summary>
internal static class DashboardSourceHash
{
    public static string Compute(string repoRoot)
    {
        var web = Path.Combine(repoRoot, "web");
        var files = Directory.EnumerateFiles(Path.Combine(web, "src"), "*", SearchOption.AllDirectories)
            .Append(Path.Combine(web, "build.mjs"))
            .Append(Path.Combine(web, "package-lock.json"))
            .Select(f => Path.GetRelativePath(repoRoot, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal);
        var lines = new StringBuilder();
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(Path.Combine(repoRoot, file));
            lines.Append(file).Append('\n').Append(Hex(SHA256.HashData(WithoutCarriageReturns(bytes)))).Append('\n');
        }
        return Hex(SHA256.HashData(Encoding.UTF8.GetBytes(lines.ToString())));
    }

    private static byte[] WithoutCarriageReturns(byte[] bytes)
    {
        var output = new List<byte>(bytes.Length);
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '\r' && i + 1 < bytes.Length && bytes[i + 1] == '\n')
            {
                continue;
            }
            output.Add(bytes[i]);
        }
        return [.. output];
    }

    private static string Hex(byte[] hash) => Convert.ToHexStringLower(hash);
}
