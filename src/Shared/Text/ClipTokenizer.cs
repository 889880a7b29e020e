using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text;

namespace MmCluster.Shared.Text;

/// <summary>
/// CLIP's byte-level BPE tokenizer with OpenCLIP's <c>SimpleTokenizer</c> and <c>tokenize()</c> semantics
/// (mlfoundations/open_clip, src/open_clip/tokenizer.py), so ids equal OpenCLIP's and an OpenCLIP text tower reads
/// them. 49,408 ids: 256 byte symbols, the same 256 ending a word (<c>&lt;/w&gt;</c>), 48,894 merges in rank order
/// (lines 1-48,894 of bpe_simple_vocab_16e6.txt.gz, embedded in this assembly with its licence), then
/// <c>&lt;start_of_text&gt;</c> (49406) and <c>&lt;end_of_text&gt;</c> (49407). Text is cleaned
/// (<see cref="ClipTextCleaner"/>), split (<see cref="ClipPreTokenizer"/>), each piece's UTF-8 bytes become symbols
/// and the lowest-ranked adjacent pair is merged until none is a merge. Pieces' ids are cached (up to
/// <see cref="CacheCapacity"/> pieces), so a data loader pays for BPE once per distinct word. Thread-safe.
/// </summary>
public sealed class ClipTokenizer
{
    public const int VocabSize = 49408;
    public const int StartOfTextId = 49406;
    public const int EndOfTextId = 49407;
    public const int DefaultContextLength = 77;
    public const long Pad = 0;

    /// <summary>Merge lines read after the header: 49,152 - 256 - 2, as OpenCLIP slices them.</summary>
    public const int MergeCount = 49152 - 256 - 2;

    public const int CacheCapacity = 200_000;

    private const string VocabularyResource = "MmCluster.Shared.Text.bpe_simple_vocab_16e6.txt.gz";

    private static readonly Lazy<ClipTokenizer> Embedded = new(() => FromGzip(OpenEmbeddedVocabulary()));

    private readonly string[] _tokens;
    private readonly int[] _byteIds = new int[256];

    /// <summary>(left id, right id) -> (rank, merged id).</summary>
    private readonly Dictionary<long, (int Rank, int Id)> _merges;

    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private int _cached;

    /// <param name="merges">The merge lines after the file's header ("i n", "t h", ...); at least <see cref="MergeCount"/>.</param>
    public ClipTokenizer(IReadOnlyList<string> merges)
    {
        if (merges.Count < MergeCount)
        {
            throw new ArgumentException($"the vocabulary has {merges.Count} merges, CLIP's has {MergeCount}", nameof(merges));
        }
        var byteSymbols = ByteSymbols();
        var pairs = new (string Left, string Right)[MergeCount];
        _tokens = new string[VocabSize];
        for (var b = 0; b < 256; b++)
        {
            _tokens[b] = byteSymbols[b].Symbol;
            _tokens[b + 256] = byteSymbols[b].Symbol + "</w>";
            _byteIds[byteSymbols[b].Byte] = b;
        }
        for (var rank = 0; rank < MergeCount; rank++)
        {
            var parts = merges[rank].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2)
            {
                throw new ArgumentException($"merge {rank + 1} is \"{merges[rank]}\", not two symbols", nameof(merges));
            }
            pairs[rank] = (parts[0], parts[1]);
            _tokens[512 + rank] = parts[0] + parts[1];
        }
        _tokens[StartOfTextId] = ClipPreTokenizer.StartOfText;
        _tokens[EndOfTextId] = ClipPreTokenizer.EndOfText;

        // A token string seen twice keeps its last id, as Python's dict(zip(vocab, range(len(vocab)))) does.
        var ids = new Dictionary<string, int>(VocabSize, StringComparer.Ordinal);
        for (var id = 0; id < VocabSize; id++)
        {
            ids[_tokens[id]] = id;
        }
        _merges = new Dictionary<long, (int, int)>(MergeCount);
        for (var rank = 0; rank < MergeCount; rank++)
        {
            var (left, right) = pairs[rank];
            if (!ids.TryGetValue(left, out var leftId) || !ids.TryGetValue(right, out var rightId))
            {
                throw new ArgumentException($"merge {rank + 1} ({left} {right}) joins a symbol no earlier merge made", nameof(merges));
            }
            _merges[Key(leftId, rightId)] = (rank, ids[left + right]); // a repeated pair keeps its last rank, as in Python
        }
    }

    /// <summary>The tokenizer of the vocabulary this assembly embeds (loaded once, on first use).</summary>
    public static ClipTokenizer Default => Embedded.Value;

    /// <summary>A tokenizer from a bpe_simple_vocab_16e6.txt.gz stream (header line, then merges).</summary>
    public static ClipTokenizer FromGzip(Stream gzip)
    {
        using var reader = new StreamReader(new GZipStream(gzip, CompressionMode.Decompress), Encoding.UTF8);
        reader.ReadLine();
        var merges = new List<string>(MergeCount);
        while (merges.Count < MergeCount && reader.ReadLine() is { } line)
        {
            merges.Add(line);
        }
        return new ClipTokenizer(merges);
    }

    /// <summary>The embedded bpe_simple_vocab_16e6.txt.gz (MIT licence: Data/LICENSE, also embedded).</summary>
    public static Stream OpenEmbeddedVocabulary() =>
        typeof(ClipTokenizer).Assembly.GetManifestResourceStream(VocabularyResource)
            ?? throw new InvalidOperationException($"the assembly lacks its resource {VocabularyResource}");

    /// <summary>The token string of an id ("photo&lt;/w&gt;"; bytes as CLIP's printable stand-ins).</summary>
    public string TokenText(int id) => _tokens[id];

    /// <summary>BPE ids of a text, without start and end tokens and without a length limit (<c>SimpleTokenizer.encode</c>).</summary>
    public List<int> Encode(string text)
    {
        var cleaned = ClipTextCleaner.Clean(text);
        var ids = new List<int>(cleaned.Length / 3 + 2);
        foreach (var piece in ClipPreTokenizer.Split(cleaned))
        {
            ids.AddRange(EncodePiece(cleaned[piece]));
        }
        return ids;
    }

    /// <summary>
    /// The ids OpenCLIP's <c>tokenize()</c> puts in a row, up to and including the end token: start, BPE ids, end;
    /// when longer than <paramref name="contextLength"/>, cut to it with the end token in the last place.
    /// </summary>
    public int[] Tokenize(string text, int contextLength = DefaultContextLength)
    {
        if (contextLength < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(contextLength), contextLength, "context length must be at least 2");
        }
        var bpe = Encode(text);
        var length = Math.Min(bpe.Count + 2, contextLength);
        var row = new int[length];
        row[0] = StartOfTextId;
        bpe.CopyTo(0, row, 1, length - 2);
        row[^1] = EndOfTextId;
        return row;
    }

    /// <summary>One text's full row into <paramref name="destination"/> (its length is the context): ids, then 0s.</summary>
    public void EncodeRow(string text, Span<long> destination)
    {
        var ids = Tokenize(text, destination.Length);
        for (var i = 0; i < ids.Length; i++)
        {
            destination[i] = ids[i];
        }
        destination[ids.Length..].Fill(Pad);
    }

    /// <summary>(N, contextLength) ids, row-major: what OpenCLIP's <c>tokenize(texts)</c> returns.</summary>
    public long[] EncodeBatch(IReadOnlyList<string> texts, int contextLength = DefaultContextLength)
    {
        var rows = new long[(long)texts.Count * contextLength];
        for (var i = 0; i < texts.Count; i++)
        {
            EncodeRow(texts[i], rows.AsSpan(i * contextLength, contextLength));
        }
        return rows;
    }

    private int[] EncodePiece(string piece)
    {
        if (_cache.TryGetValue(piece, out var cached))
        {
            return cached;
        }
        var ids = piece switch
        {
            ClipPreTokenizer.StartOfText => [StartOfTextId],
            ClipPreTokenizer.EndOfText => [EndOfTextId],
            _ => Merge(Symbols(piece)),
        };
        if (Interlocked.Increment(ref _cached) <= CacheCapacity)
        {
            _cache.TryAdd(piece, ids);
        }
        return ids;
    }

    /// <summary>The piece's UTF-8 bytes as symbol ids, the last one ending the word.</summary>
    private List<int> Symbols(string piece)
    {
        Span<byte> buffer = piece.Length <= 64 ? stackalloc byte[piece.Length * 3] : new byte[Encoding.UTF8.GetMaxByteCount(piece.Length)];
        var count = Encoding.UTF8.GetBytes(piece, buffer);
        var symbols = new List<int>(count);
        for (var i = 0; i < count; i++)
        {
            symbols.Add(_byteIds[buffer[i]]);
        }
        symbols[^1] += 256;
        return symbols;
    }

    /// <summary>Merges the lowest-ranked adjacent pair, every occurrence left to right, until no pair is a merge.</summary>
    private int[] Merge(List<int> word)
    {
        while (word.Count > 1)
        {
            var best = (Rank: int.MaxValue, Id: -1, Left: -1, Right: -1);
            for (var i = 0; i + 1 < word.Count; i++)
            {
                if (_merges.TryGetValue(Key(word[i], word[i + 1]), out var merge) && merge.Rank < best.Rank)
                {
                    best = (merge.Rank, merge.Id, word[i], word[i + 1]);
                }
            }
            if (best.Id < 0)
            {
                break;
            }
            var kept = 0;
            for (var i = 0; i < word.Count; i++)
            {
                if (i + 1 < word.Count && word[i] == best.Left && word[i + 1] == best.Right)
                {
                    word[kept++] = best.Id;
                    i++;
                }
                else
                {
                    word[kept++] = word[i];
                }
            }
            word.RemoveRange(kept, word.Count - kept);
        }
        return [.. word];
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>
    /// CLIP's byte-to-unicode table in vocabulary order: the printable bytes ('!'-'~', '¡'-'¬', '®'-'ÿ') stand for
    /// themselves, the other 68 bytes take U+0100 onwards in byte order.
    /// </summary>
    private static (byte Byte, string Symbol)[] ByteSymbols()
    {
        static bool Printable(int b) => b is >= '!' and <= '~' or >= '¡' and <= '¬' or >= '®' and <= 'ÿ';
        var table = new List<(byte, string)>(256);
        for (var b = 0; b < 256; b++)
        {
            if (Printable(b))
            {
                table.Add(((byte)b, ((char)b).ToString()));
            }
        }
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            if (!Printable(b))
            {
                table.Add(((byte)b, ((char)next++).ToString()));
            }
        }
        return [.. table];
    }
}
