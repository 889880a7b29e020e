using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

/// <summary>
/// Marks one GNU symbol-version requirement (e.g. GLIBCXX_3.4.32) weak in every libLibTorchSharp.so under a folder,
/// but only when the system libstdc++ does not provide that version. A weak requirement lets the dynamic loader accept
/// the library; the only symbol bound to that version (std::ios_base_library_init) is never called.
/// </summary>
public class MarkGlibcxxRequirementWeak : Task
{
    [Required] public string Directory { get; set; } = "";
    [Required] public string VersionName { get; set; } = "";

    private static readonly string[] LibStdCxxCandidates =
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
    };

    public override bool Execute()
    {
        if (!System.IO.Directory.Exists(Directory)) { return true; }
        var libs = System.IO.Directory.GetFiles(Directory, "libLibTorchSharp.so", SearchOption.AllDirectories);
        if (libs.Length == 0) { return true; }
        if (SystemProvides(VersionName))
        {
            Log.LogMessage(MessageImportance.Low, $"System libstdc++ provides {VersionName}; libLibTorchSharp.so left as shipped.");
            return true;
        }
        foreach (var lib in libs)
        {
            try
            {
                var bytes = File.ReadAllBytes(lib);
                var changed = MarkWeak(bytes, VersionName);
                if (changed > 0)
                {
                    var tmp = lib + ".patching";
                    File.WriteAllBytes(tmp, bytes);
                    // A rename, not a copy over: the output file may be a hard link into the NuGet cache
                    // (CreateHardLinksForCopyLocalIfPossible), which must stay as shipped.
                    File.Delete(lib);
                    File.Move(tmp, lib);
                    Log.LogMessage(MessageImportance.High, $"Marked {VersionName} weak in {lib} (system libstdc++ lacks it).");
                }
            }
            catch (Exception e)
            {
                Log.LogWarning($"Could not patch {lib}: {e.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    private static bool SystemProvides(string version)
    {
        var needle = Encoding.ASCII.GetBytes(version + "\0");
        foreach (var path in LibStdCxxCandidates)
        {
            if (!File.Exists(path)) { continue; }
            var data = File.ReadAllBytes(path);
            return IndexOf(data, needle) >= 0;
        }
        return false; // unknown system: patch, the weak flag is harmless where the version exists
    }

    private static int IndexOf(byte[] hay, byte[] needle)
    {
        for (var i = 0; i + needle.Length <= hay.Length; i++)
        {
            var ok = true;
            for (var j = 0; j < needle.Length; j++) { if (hay[i + j] != needle[j]) { ok = false; break; } }
            if (ok) { return i; }
        }
        return -1;
    }

    /// <summary>Sets VER_FLG_WEAK on the matching Elf64_Vernaux entries; returns how many changed.</summary>
    public static int MarkWeak(byte[] elf, string versionName)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2)
        {
            throw new InvalidDataException("not a 64-bit ELF file");
        }
        long shoff = BitConverter.ToInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A);
        int shnum = BitConverter.ToUInt16(elf, 0x3C);
        const uint ShtGnuVerneed = 0x6ffffffe;
        const ushort VerFlgWeak = 0x2;
        var changed = 0;
        for (var i = 0; i < shnum; i++)
        {
            var sh = (int)(shoff + i * shentsize);
            var type = BitConverter.ToUInt32(elf, sh + 4);
            if (type != ShtGnuVerneed) { continue; }
            var offset = BitConverter.ToInt64(elf, sh + 0x18);
            var link = BitConverter.ToUInt32(elf, sh + 0x28);
            var info = BitConverter.ToUInt32(elf, sh + 0x2C); // number of Verneed entries
            var strSh = (int)(shoff + link * shentsize);
            var strOff = BitConverter.ToInt64(elf, strSh + 0x18);
            var need = (int)offset;
            for (var n = 0; n < info; n++)
            {
                int cnt = BitConverter.ToUInt16(elf, need + 2);
                var aux = need + (int)BitConverter.ToUInt32(elf, need + 8);
                for (var a = 0; a < cnt; a++)
                {
                    var flags = BitConverter.ToUInt16(elf, aux + 4);
                    var name = ReadCString(elf, (int)(strOff + BitConverter.ToUInt32(elf, aux + 8)));
                    if (name == versionName && (flags & VerFlgWeak) == 0)
                    {
                        var nf = (ushort)(flags | VerFlgWeak);
                        elf[aux + 4] = (byte)(nf & 0xff);
                        elf[aux + 5] = (byte)(nf >> 8);
                        changed++;
                    }
                    var next = BitConverter.ToUInt32(elf, aux + 12);
                    if (next == 0) { break; }
                    aux += (int)next;
                }
                var nextNeed = BitConverter.ToUInt32(elf, need + 12);
                if (nextNeed == 0) { break; }
                need += (int)nextNeed;
            }
        }
        return changed;
    }

    private static string ReadCString(byte[] data, int at)
    {
        var end = at;
        while (end < data.Length && data[end] != 0) { end++; }
        return Encoding.ASCII.GetString(data, at, end - at);
    }
}
