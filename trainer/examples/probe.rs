use models::model::TokenModel;
use models::package::Package;
use models::tokenizer::{Token, Vocab};
use models::{Chord, ChordQuality, Role};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let role = Role::parse(&args[2]).unwrap();
    let pkg = Package::open(&args[1]).unwrap();
    for (root, q) in [
        (0u8, ChordQuality::Maj7),
        (6, ChordQuality::Dom7),
        (2, ChordQuality::Min7),
        (7, ChordQuality::Dom7),
    ] {
        let mut m = models::runtime::OnnxModel::load(&pkg, Default::default()).unwrap();
        let c = Chord::new(root, q);
        let ids = vec![
            Vocab::id(Token::Bos),
            Vocab::id(Token::Role(role)),
            Vocab::id(Token::TimeSig(9)),
            Vocab::id(Token::Tempo(10)),
            Vocab::id(Token::Bar),
            Vocab::id(Token::Pos(0)),
            Vocab::id(Token::ChordRoot(root)),
            Vocab::id(Token::ChordQual(q)),
        ];
        m.feed(&ids).unwrap();
        let mut l = vec![0f32; models::tokenizer::VOCAB_SIZE as usize];
        m.next_logits(&mut l).unwrap();
        let mut probs = vec![];
        let mut z = 0.0f64;
        for p in 0..128u8 {
            let v = (l[Vocab::id(Token::Pitch(p)) as usize] as f64).exp();
            z += v;
            probs.push(v);
        }
        let ct: f64 = (0..128u8)
            .filter(|&p| c.contains_pitch(p))
            .map(|p| probs[p as usize])
            .sum::<f64>()
            / z;
        let mut top: Vec<(u8, f64)> = (0..128u8).map(|p| (p, probs[p as usize] / z)).collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1));
        println!(
            "{c}: chord-tone mass among pitches {ct:.3}; top {:?}",
            &top[..6].iter().map(|(p, x)| format!("{p}:{x:.2}")).collect::<Vec<_>>()
        );
    }
}
