//! `make token USER=…`: prints a local HS256 token for a seeded user.

fn main() {
    let mut args = std::env::args().skip(1);
    let user = args.next().unwrap_or_else(|| "resident-1".to_owned());
    let org = args.next().unwrap_or_else(|| infra::seed::org_of(&user).to_owned());
    println!("{}", infra::token::mint(&infra::token::secret(), &user, &org, 12 * 3600));
}
